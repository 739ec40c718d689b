// The Compare widget: tabs of charts (histories, parallel coordinates, scatter, final
// values) and a params table, for runs chosen in Python.
//
// Python sends Vega-Lite specs (`panels`) and their rows as Arrow bytes (`data_<name>`);
// a chart is re-embedded only when its spec changes, and otherwise gets new rows in place.
// Only the visible tab's chart is drawn; the others catch up when shown. A click or brush
// in any chart becomes `selected_ids`, and `selected_ids` (from any chart, Python or a run
// table) highlights those runs in every chart through its `focus` parameter.
//
// This entry wires the model to the parts in js/lib: compare_tabs (tabs and panels),
// compare_charts (embedding, selections, focus), compare_panel (tools, params table),
// compare_controls (the toolbar).
import type { RenderProps } from "@anywidget/types";
import { createToolbar, type ToolbarState } from "./lib/compare_controls";
import { runIndex, sameIds, type RunIndex } from "./lib/compare_selection";
import { Tabs } from "./lib/compare_tabs";
import { DATA_TRAITS, el, type CompareContext, type CompareModel, type CompareRpc, type Model } from "./lib/compare_types";
import { RpcClient } from "./lib/rpc";
import { styleElement } from "./lib/styles";
import { debounce } from "./lib/vega";
import css from "./styles/compare.css";

export type { CompareModel, PanelPayload } from "./lib/compare_types";

function toolbarState(model: Model): ToolbarState {
  return {
    metrics: model.get("metrics") ?? [],
    availableMetrics: model.get("available_metrics") ?? [],
    x: model.get("x"),
    smoothing: model.get("smoothing"),
    logY: model.get("log_y"),
    status: model.get("status") ?? "",
  };
}

/** The view state the panels share; `index` follows `run_info`. */
class Context implements CompareContext {
  readonly started = performance.now();
  index: RunIndex;
  disposed = false;
  onSelected: () => void = () => undefined;
  zoom: (range: [number, number] | null) => void = () => undefined;

  constructor(readonly model: Model) {
    this.index = runIndex(model.get("run_info") ?? []);
  }

  save<K extends keyof CompareModel>(key: K, value: CompareModel[K]): void {
    this.model.set(key, value);
    this.model.save_changes();
  }

  setSelected(ids: string[]): void {
    if (sameIds(ids, this.model.get("selected_ids") ?? [])) return;
    this.save("selected_ids", ids);
    this.onSelected();
  }
}

/** Hands `bytes` to the browser as a download named `filename`. */
function download(bytes: Uint8Array, mime: string, filename: string): void {
  const url = URL.createObjectURL(new Blob([bytes.slice()], { type: mime }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.style.display = "none";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function render({ model, el: host }: RenderProps<CompareModel>): Promise<() => void> {
  const ctx = new Context(model);
  const root = el("div", "canvasback cb-compare");
  host.append(styleElement(css), root);

  // One RPC client per view, as in every canvasback front end (see js/run_table.ts):
  // anywidget hands each render its own proxy of the model, and request ids are random
  // per client, so each view takes only its own replies and closing it cancels only its
  // own requests.
  const client = new RpcClient<CompareRpc>(model);
  ctx.zoom = (range) => {
    void client
      .request("zoom", { x_min: range?.[0] ?? null, x_max: range?.[1] ?? null })
      .catch((error: unknown) => console.warn("canvasback: zoom failed", error));
  };
  const tabs = new Tabs(ctx);
  ctx.onSelected = () => void tabs.applyFocus();

  // Dragging the slider would otherwise ask Python to re-smooth on every pixel.
  let pendingSmoothing = model.get("smoothing");
  const sendSmoothing = debounce(() => ctx.save("smoothing", pendingSmoothing), 120, 400);
  const toolbar = createToolbar(toolbarState(model), {
    onMetrics: (metrics) => ctx.save("metrics", metrics),
    onX: (x) => ctx.save("x", x),
    onSmoothing: (value) => {
      pendingSmoothing = value;
      sendSmoothing();
    },
    onLogY: (value) => ctx.save("log_y", value),
    onExport: (format) => {
      const panel = model.get("tab") === "params" ? "history" : model.get("tab");
      client
        .request("export", { format, panel })
        .then(({ reply, buffers }) => {
          const data = buffers[0];
          if (data) download(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), reply.mime, reply.filename);
        })
        .catch((error: unknown) => console.warn("canvasback: export failed", error));
    },
    onRefresh: () => {
      toolbar.setBusy(true);
      client
        .request("refresh", {})
        .catch((error: unknown) => console.warn("canvasback: refresh failed", error))
        .finally(() => toolbar.setBusy(false));
    },
  });
  root.append(toolbar.element, tabs.tabs, tabs.stack);

  // Several traits change together (Python holds the sync); draw once afterwards.
  let scheduled = false;
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      if (ctx.disposed) return;
      tabs.build();
      toolbar.update(toolbarState(model));
      void tabs.show();
    });
  };

  const onToolbar = (): void => toolbar.update(toolbarState(model));
  const onRuns = (): void => {
    ctx.index = runIndex(model.get("run_info") ?? []);
    schedule();
  };
  const onSelected = (): void => void tabs.applyFocus();
  const onTab = (): void => void tabs.show();
  const listeners: [string, () => void][] = [
    ["change:panels", schedule],
    ["change:run_info", onRuns],
    ["change:selected_ids", onSelected],
    ["change:tab", onTab],
    ["change:diff_only", onSelected],
    ...Object.values(DATA_TRAITS).map((trait): [string, () => void] => [`change:${trait}`, schedule]),
    ...["metrics", "available_metrics", "x", "smoothing", "log_y", "status"].map(
      (trait): [string, () => void] => [`change:${trait}`, onToolbar],
    ),
    ...["available_params", "scatter_param", "scatter_metric"].map(
      (trait): [string, () => void] => [`change:${trait}`, schedule],
    ),
  ];
  for (const [event, callback] of listeners) model.on(event, callback);

  tabs.build();
  await tabs.show();

  return () => {
    ctx.disposed = true;
    client.dispose();
    sendSmoothing.cancel();
    for (const [event, callback] of listeners) model.off(event, callback);
    tabs.reset();
  };
}

export default { render };
