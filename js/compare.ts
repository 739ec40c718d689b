// The Compare widget: tabs of charts (histories, parallel coordinates, scatter, final
// values) and a params table, for runs chosen in Python.
//
// Python sends Vega-Lite specs (`panels`) and their rows as Arrow bytes (`data_<name>`);
// a chart is re-embedded only when its spec changes, and otherwise gets new rows in place.
// Only the visible tab's chart is drawn; the others catch up when shown. A click or brush
// in any chart becomes `selected_ids`, and `selected_ids` (from any chart, Python or a run
// table) highlights those runs in every chart through its `focus` parameter.
import type { AnyModel, RenderProps } from "@anywidget/types";
import { decodeRows, type Row } from "./lib/arrow";
import { checkboxField, createToolbar, selectField, type ToolbarState } from "./lib/compare_controls";
import { focusLabels, runIndex, sameIds, selectedRuns, type RunInfo } from "./lib/compare_selection";
import { paramsTableElement, summary, type ParamsTable } from "./lib/compare_table";
import { RpcClient } from "./lib/rpc";
import {
  debounce,
  embedChart,
  selectionNames,
  type Chart,
  type SelectionState,
  type VisualizationSpec,
} from "./lib/vega";
import css from "./styles/compare.css";

export interface PanelPayload {
  title: string;
  spec?: Record<string, unknown>;
  datasets?: string[];
  message?: string;
  table?: ParamsTable;
}

/** Synced traits of `canvasback.widgets.Compare`. */
export interface CompareModel {
  run_ids: string[];
  metrics: string[];
  params: string[] | null;
  x: string;
  smoothing: number;
  log_y: boolean;
  scatter_param: string;
  scatter_metric: string;
  diff_only: boolean;
  max_points: number;
  tab: string;
  selected_ids: string[];
  available_metrics: string[];
  available_params: string[];
  run_info: RunInfo[];
  panels: Record<string, PanelPayload>;
  data_history: DataView;
  data_parallel: DataView;
  data_scatter: DataView;
  data_finals: DataView;
  status: string;
}

type Model = AnyModel<CompareModel>;

interface Schema {
  refresh: { request: Record<string, never>; reply: { runs: number; status: string } };
}

const DATA_TRAITS = {
  history: "data_history",
  parallel: "data_parallel",
  scatter: "data_scatter",
  finals: "data_finals",
} as const satisfies Record<string, keyof CompareModel>;

type DatasetName = keyof typeof DATA_TRAITS;

function isDatasetName(name: string): name is DatasetName {
  return Object.hasOwn(DATA_TRAITS, name);
}

function datasetBytes(model: Model, name: string): DataView | undefined {
  return isDatasetName(name) ? model.get(DATA_TRAITS[name]) : undefined;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className !== undefined) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** One tab: its chart (or table), and what it was last drawn from. */
class PanelView {
  readonly section: HTMLElement;
  readonly header: HTMLElement;
  readonly tools: HTMLElement;
  readonly note: HTMLElement;
  readonly body: HTMLElement;
  chart: Chart | null = null;
  specText: string | null = null;
  drawn = new Map<string, DataView>();
  generation = 0;
  /** Runs each selection parameter of this chart picks, least recently changed first. */
  picks = new Map<string, string[]>();
  /** Syncs run one after another, so each sees what the previous one drew. */
  queue: Promise<void> = Promise.resolve();

  constructor(readonly name: string) {
    this.section = el("section", "cb-panel");
    this.section.dataset["panel"] = name;
    this.section.dataset["state"] = "pending";
    this.section.setAttribute("role", "tabpanel");
    this.header = el("div", "cb-panel-head");
    this.tools = el("div", "cb-panel-tools");
    this.note = el("p", "cb-note");
    this.body = el("div", "cb-panel-body");
    this.header.append(this.tools);
    this.section.append(this.header, this.note, this.body);
  }

  reset(): void {
    this.generation += 1;
    this.chart?.finalize();
    this.chart = null;
    this.specText = null;
    this.drawn.clear();
    this.picks.clear();
  }

  setNote(text: string | undefined): void {
    this.note.textContent = text ?? "";
    this.note.hidden = text === undefined || text === "";
  }
}

async function render({ model, el: host }: RenderProps<CompareModel>): Promise<() => void> {
  const started = performance.now();
  const style = document.createElement("style");
  style.textContent = css;
  const root = el("div", "cb-compare");
  host.append(style, root);

  // One RPC client per view, not per model: anywidget hands initialize and each render
  // a different proxy of the model, so nothing can key model-level state on it. Request
  // ids are random per client, so each view only takes its own replies.
  const client = new RpcClient<Schema>(model);
  let index = runIndex(model.get("run_info") ?? []);
  const views = new Map<string, PanelView>();
  const tabButtons = new Map<string, HTMLButtonElement>();
  let disposed = false;

  const setSelected = (ids: string[]): void => {
    if (sameIds(ids, model.get("selected_ids") ?? [])) return;
    model.set("selected_ids", ids);
    model.save_changes();
    void applyFocus();
  };

  const toolbar = createToolbar(toolbarState(), {
    onMetrics: (metrics) => save("metrics", metrics),
    onX: (x) => save("x", x),
    onSmoothing: (value) => {
      pendingSmoothing = value;
      sendSmoothing();
    },
    onLogY: (value) => save("log_y", value),
    onRefresh: () => {
      toolbar.setBusy(true);
      client
        .request("refresh", {})
        .catch((error: unknown) => console.warn("canvasback: refresh failed", error))
        .finally(() => toolbar.setBusy(false));
    },
  });
  // Dragging the slider would otherwise ask Python to re-smooth on every pixel.
  let pendingSmoothing = model.get("smoothing");
  const sendSmoothing = debounce(() => save("smoothing", pendingSmoothing), 120, 400);

  function save<K extends keyof CompareModel>(key: K, value: CompareModel[K]): void {
    model.set(key, value);
    model.save_changes();
  }

  function toolbarState(): ToolbarState {
    return {
      metrics: model.get("metrics") ?? [],
      availableMetrics: model.get("available_metrics") ?? [],
      x: model.get("x"),
      smoothing: model.get("smoothing"),
      logY: model.get("log_y"),
      status: model.get("status") ?? "",
    };
  }

  const tabs = el("div", "cb-tabs");
  tabs.setAttribute("role", "tablist");
  const stack = el("div", "cb-panels");
  root.append(toolbar.element, tabs, stack);

  const activeTab = (): string => {
    const panels = model.get("panels") ?? {};
    const tab = model.get("tab");
    return tab in panels ? tab : (Object.keys(panels)[0] ?? "history");
  };

  function buildTabs(): void {
    const panels = model.get("panels") ?? {};
    const names = Object.keys(panels);
    if (sameIds(names, [...views.keys()])) {
      for (const [name, button] of tabButtons) button.textContent = panels[name]?.title ?? name;
      return;
    }
    for (const view of views.values()) view.reset();
    views.clear();
    tabButtons.clear();
    tabs.replaceChildren();
    stack.replaceChildren();
    for (const name of names) {
      const view = new PanelView(name);
      view.section.id = `cb-${name}-${Math.random().toString(36).slice(2, 8)}`;
      const button = el("button", "cb-tab", panels[name]?.title ?? name);
      button.type = "button";
      button.dataset["tab"] = name;
      button.setAttribute("role", "tab");
      button.setAttribute("aria-controls", view.section.id);
      button.addEventListener("click", () => {
        if (model.get("tab") !== name) save("tab", name);
        showTab();
      });
      tabs.append(button);
      stack.append(view.section);
      views.set(name, view);
      tabButtons.set(name, button);
    }
  }

  function showTab(): void {
    const active = activeTab();
    for (const [name, view] of views) {
      const on = name === active;
      view.section.hidden = !on;
      tabButtons.get(name)?.setAttribute("aria-selected", String(on));
    }
    void syncPanel(active);
  }

  function syncPanel(name: string): Promise<void> {
    const view = views.get(name);
    if (view === undefined) return Promise.resolve();
    view.queue = view.queue.then(() => syncNow(view)).catch((error: unknown) => showPanelError(view, error));
    return view.queue;
  }

  async function syncNow(view: PanelView): Promise<void> {
    const name = view.name;
    const payload = model.get("panels")?.[name];
    if (payload === undefined || disposed) return;
    renderTools(view);
    if (payload.table !== undefined || name === "params") {
      renderTable(view, payload);
      return;
    }
    if (payload.spec === undefined) {
      view.reset();
      view.body.replaceChildren();
      view.setNote(payload.message);
      view.section.dataset["state"] = "message";
      return;
    }
    view.setNote(payload.message);
    const specText = JSON.stringify(payload.spec);
    const wanted = new Map<string, DataView>();
    for (const dataset of payload.datasets ?? []) {
      const bytes = datasetBytes(model, dataset);
      if (bytes !== undefined) wanted.set(dataset, bytes);
    }
    if (view.chart !== null && view.specText === specText) {
      const changed: Record<string, DataView> = {};
      for (const [dataset, bytes] of wanted) if (view.drawn.get(dataset) !== bytes) changed[dataset] = bytes;
      if (Object.keys(changed).length === 0) return;
      for (const [dataset, bytes] of Object.entries(changed)) view.drawn.set(dataset, bytes);
      try {
        await view.chart.setDatasets(changed);
      } catch (error) {
        showPanelError(view, error);
      }
      return;
    }
    view.reset();
    view.specText = specText;
    const mine = view.generation;
    view.section.dataset["state"] = "pending";
    const target = el("div", "cb-chart");
    try {
      const chart = await embedChart(target, payload.spec as VisualizationSpec, Object.fromEntries(wanted), {
        onSelection: (param, state) => onSelection(view, param, state),
      });
      if (mine !== view.generation || disposed) {
        chart.finalize();
        return;
      }
      view.chart = chart;
      view.drawn = wanted;
      listenToLegend(chart, payload.spec);
      view.body.replaceChildren(target);
      await focusChart(chart);
      view.section.dataset["state"] = "rendered";
      view.section.dataset["renderMs"] = String(Math.round(performance.now() - started));
    } catch (error) {
      if (mine !== view.generation) return;
      showPanelError(view, error);
    }
  }

  function showPanelError(view: PanelView, error: unknown): void {
    view.reset();
    const box = el("div", "canvasback-error", `Chart error: ${error instanceof Error ? error.message : String(error)}`);
    box.setAttribute("role", "alert");
    view.body.replaceChildren(box);
    view.section.dataset["state"] = "error";
  }

  function onSelection(view: PanelView, param: string, state: SelectionState): void {
    let rows: Row[] = [];
    if (param.endsWith("_brush")) {
      const payload = model.get("panels")?.[view.name];
      for (const dataset of payload?.datasets ?? []) rows = rows.concat(decodeRows(datasetBytes(model, dataset)));
    }
    // The latest interaction wins: a brush replaces a clicked run and a click a brush.
    // A parameter that empties (a click beside the marks) falls back to the others.
    view.picks.delete(param);
    view.picks.set(param, selectedRuns(state.value, index, rows));
    const latest = [...view.picks.values()].reverse().find((ids) => ids.length > 0);
    setSelected(latest ?? []);
  }

  // Vega-Lite sets `<param>_run_legend` when a legend entry bound to a selection is
  // clicked, but inside a faceted chart the selection store never receives it; so the
  // legend click is read from that signal directly: it selects the run, or clears it.
  function listenToLegend(chart: Chart, spec: unknown): void {
    const vegaView = chart.result.view;
    for (const name of selectionNames(spec)) {
      const signal = `${name}_run_legend`;
      try {
        vegaView.signal(signal);
      } catch {
        continue; // not bound to the legend
      }
      vegaView.addSignalListener(signal, (_name, value: unknown) => {
        const id = typeof value === "string" ? index.idOf.get(value) : undefined;
        if (id === undefined) return;
        const current = model.get("selected_ids") ?? [];
        setSelected(sameIds(current, [id]) ? [] : [id]);
      });
    }
  }

  async function focusChart(chart: Chart): Promise<void> {
    const labels = focusLabels(model.get("selected_ids") ?? [], index);
    try {
      chart.result.view.signal("focus", labels);
      await chart.result.view.runAsync();
    } catch {
      // A spec without a focus parameter (not one of ours) simply shows no highlight.
    }
  }

  async function applyFocus(): Promise<void> {
    const charts = [...views.values()].map((view) => view.chart).filter((chart): chart is Chart => chart !== null);
    await Promise.all(charts.map(focusChart));
    const table = views.get("params");
    if (table !== undefined && !table.section.hidden) renderTable(table, model.get("panels")?.["params"]);
  }

  function renderTools(view: PanelView): void {
    if (view.name === "scatter") {
      const params = (model.get("available_params") ?? []).map((p) => ({ value: p, label: p }));
      const metrics = (model.get("available_metrics") ?? []).map((m) => ({ value: m, label: m }));
      view.tools.replaceChildren(
        selectField("Param (x)", params, model.get("scatter_param"), (value) => save("scatter_param", value)),
        selectField("Metric (y)", metrics, model.get("scatter_metric"), (value) => save("scatter_metric", value)),
      );
    } else if (view.name === "params") {
      view.tools.replaceChildren(
        checkboxField("Only params that differ", model.get("diff_only"), (value) => {
          save("diff_only", value);
          renderTable(view, model.get("panels")?.["params"]);
        }),
      );
    }
  }

  function renderTable(view: PanelView, payload: PanelPayload | undefined): void {
    const table = payload?.table;
    if (table === undefined) {
      view.body.replaceChildren();
      view.setNote(payload?.message);
      view.section.dataset["state"] = "message";
      return;
    }
    view.setNote(summary(table));
    const selected = new Set(model.get("selected_ids") ?? []);
    const element = paramsTableElement(table, {
      diffOnly: model.get("diff_only"),
      selected,
      onToggleRun: (id, additive) => {
        const current = model.get("selected_ids") ?? [];
        let next: string[];
        if (additive) next = current.includes(id) ? current.filter((x) => x !== id) : [...current, id];
        else next = sameIds(current, [id]) ? [] : [id];
        setSelected(index.order.filter((x) => next.includes(x)));
      },
    });
    const scroller = el("div", "cb-table-scroll");
    scroller.append(element);
    view.body.replaceChildren(scroller);
    view.section.dataset["state"] = "rendered";
  }

  // Several traits change together (Python holds the sync); draw once afterwards.
  let scheduled = false;
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      if (disposed) return;
      buildTabs();
      toolbar.update(toolbarState());
      showTab();
    });
  };

  const onPanels = (): void => schedule();
  const onData = (): void => schedule();
  const onToolbar = (): void => toolbar.update(toolbarState());
  const onRuns = (): void => {
    index = runIndex(model.get("run_info") ?? []);
    schedule();
  };
  const onSelected = (): void => void applyFocus();
  const onTab = (): void => showTab();
  const listeners: [string, () => void][] = [
    ["change:panels", onPanels],
    ["change:run_info", onRuns],
    ["change:selected_ids", onSelected],
    ["change:tab", onTab],
    ["change:diff_only", onSelected],
    ...Object.values(DATA_TRAITS).map((trait): [string, () => void] => [`change:${trait}`, onData]),
    ...["metrics", "available_metrics", "x", "smoothing", "log_y", "status"].map(
      (trait): [string, () => void] => [`change:${trait}`, onToolbar],
    ),
    ...["available_params", "scatter_param", "scatter_metric"].map(
      (trait): [string, () => void] => [`change:${trait}`, onPanels],
    ),
  ];
  for (const [event, callback] of listeners) model.on(event, callback);

  buildTabs();
  showTab();
  await views.get(activeTab())?.queue;

  return () => {
    disposed = true;
    client.dispose();
    sendSmoothing.cancel();
    for (const [event, callback] of listeners) model.off(event, callback);
    for (const view of views.values()) view.reset();
  };
}

export default { render };
