// The charts of the Compare widget: embedding a panel's spec (or only swapping its rows
// when the spec is unchanged), turning clicks, brushes and legend clicks into the
// selection, and highlighting the selected runs through each chart's `focus` parameter.
import { decodeRows, type Row } from "./arrow";
import type { PanelView } from "./compare_panel";
import { focusLabels, sameIds, selectedRuns } from "./compare_selection";
import { datasetBytes, el, type CompareContext, type PanelPayload } from "./compare_types";
import { embedChart, selectionNames, type Chart, type SelectionState, type VisualizationSpec } from "./vega";

const ZOOM = "history_zoom";

/** Draws `payload`'s chart in `view`: new rows in place, or a new embed for a new spec. */
export async function syncChart(ctx: CompareContext, view: PanelView, payload: PanelPayload & { spec: object }): Promise<void> {
  view.setNote(payload.message);
  const specText = JSON.stringify(payload.spec);
  const wanted = new Map<string, DataView>();
  for (const dataset of payload.datasets ?? []) {
    const bytes = datasetBytes(ctx.model, dataset);
    if (bytes !== undefined) wanted.set(dataset, bytes);
  }
  if (view.chart !== null && view.specText === specText) {
    await updateRows(view, view.chart, wanted);
    return;
  }
  view.reset();
  view.specText = specText;
  const mine = view.generation;
  view.section.dataset["state"] = "pending";
  const target = el("div", "cb-chart");
  try {
    const chart = await embedChart(target, payload.spec as VisualizationSpec, Object.fromEntries(wanted), {
      onSelection: (param, state) => onSelection(ctx, view, param, state),
    });
    if (mine !== view.generation || ctx.disposed) {
      chart.finalize();
      return;
    }
    view.chart = chart;
    view.drawn = wanted;
    listenToLegend(ctx, chart, payload.spec);
    if (selectionNames(payload.spec).includes(ZOOM)) {
      // The range is asked for once the drag ends, not on every pixel of it.
      target.addEventListener("pointerup", () => {
        let range: [number, number] | null = null;
        try {
          range = zoomRange(chart.result.view.signal(ZOOM));
        } catch {
          range = null;
        }
        if (range) ctx.zoom(range);
      });
      if (ctx.model.get("x_range")) chart.result.view.addEventListener("dblclick", () => ctx.zoom(null));
    }
    view.body.replaceChildren(target);
    await focusChart(ctx, chart);
    view.section.dataset["state"] = "rendered";
    view.section.dataset["renderMs"] = String(Math.round(performance.now() - ctx.started));
  } catch (error) {
    if (mine !== view.generation) return;
    view.showError(error);
  }
}

async function updateRows(view: PanelView, chart: Chart, wanted: Map<string, DataView>): Promise<void> {
  const changed: Record<string, DataView> = {};
  for (const [dataset, bytes] of wanted) if (view.drawn.get(dataset) !== bytes) changed[dataset] = bytes;
  if (Object.keys(changed).length === 0) return;
  for (const [dataset, bytes] of Object.entries(changed)) view.drawn.set(dataset, bytes);
  try {
    await chart.setDatasets(changed);
  } catch (error) {
    view.showError(error);
  }
}

/** The x range a `history_zoom` interval holds, if it is one worth fetching. */
export function zoomRange(value: unknown): [number, number] | null {
  const x = (value as { x?: unknown } | null)?.x;
  if (!Array.isArray(x) || x.length !== 2) return null;
  const [a, b] = x.map((v) => (v instanceof Date ? v.getTime() : Number(v)));
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || a === b) return null;
  return a < b ? [a, b] : [b, a];
}

function onSelection(ctx: CompareContext, view: PanelView, param: string, state: SelectionState): void {
  if (param === ZOOM) {
    // A drag across a panel zooms, once it ends: Python fetches that range anew (the
    // chart's points are downsampled over the whole history). Double-click: all again.
    return; // read from the chart when the drag ends (see syncChart)
  }
  let rows: Row[] = [];
  if (param.endsWith("_brush")) {
    const payload = ctx.model.get("panels")?.[view.name];
    for (const dataset of payload?.datasets ?? []) rows = rows.concat(decodeRows(datasetBytes(ctx.model, dataset)));
  }
  // The latest interaction wins: a brush replaces a clicked run and a click a brush.
  // A parameter that empties (a click beside the marks) falls back to the others.
  view.picks.delete(param);
  view.picks.set(param, selectedRuns(state.value, ctx.index, rows));
  const latest = [...view.picks.values()].reverse().find((ids) => ids.length > 0);
  ctx.setSelected(latest ?? []);
}

// Vega-Lite sets `<param>_run_legend` when a legend entry bound to a selection is
// clicked, but inside a faceted chart the selection store never receives it; so the
// legend click is read from that signal directly: it selects the run, or clears it.
function listenToLegend(ctx: CompareContext, chart: Chart, spec: unknown): void {
  const vegaView = chart.result.view;
  for (const name of selectionNames(spec)) {
    const signal = `${name}_run_legend`;
    try {
      vegaView.signal(signal);
    } catch {
      continue; // not bound to the legend
    }
    vegaView.addSignalListener(signal, (_name, value: unknown) => {
      const id = typeof value === "string" ? ctx.index.idOf.get(value) : undefined;
      if (id === undefined) return;
      const current = ctx.model.get("selected_ids") ?? [];
      ctx.setSelected(sameIds(current, [id]) ? [] : [id]);
    });
  }
}

/** Highlights the selected runs in `chart`. */
export async function focusChart(ctx: CompareContext, chart: Chart): Promise<void> {
  const labels = focusLabels(ctx.model.get("selected_ids") ?? [], ctx.index);
  try {
    chart.result.view.signal("focus", labels);
    await chart.result.view.runAsync();
  } catch {
    // A spec without a focus parameter (not one of ours) simply shows no highlight.
  }
}
