// The Compare widget's wire contract (synced traits and RPC kinds) and the shared view
// state its modules work on.
import type { AnyModel } from "@anywidget/types";
import type { RunIndex, RunInfo } from "./compare_selection";
import type { ParamsTable } from "./compare_table";

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
  /** The zoomed x range of the histories, or null for all of it. */
  x_range: [number, number] | null;
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

export type Model = AnyModel<CompareModel>;

/** Request kinds the Python widget answers. */
export interface CompareRpc {
  refresh: { request: Record<string, never>; reply: { runs: number; status: string } };
  /** The chart of `panel` as `format`, rendered by Python, as one buffer. */
  export: { request: { format: string; panel: string }; reply: { mime: string; filename: string; bytes: number } };
  /** Re-fetch the histories within [x_min, x_max] at full resolution (nulls: all). */
  zoom: { request: { x_min: number | null; x_max: number | null }; reply: { x_range: [number, number] | null; points: number } };
}

export const DATA_TRAITS = {
  history: "data_history",
  parallel: "data_parallel",
  scatter: "data_scatter",
  finals: "data_finals",
} as const satisfies Record<string, keyof CompareModel>;

type DatasetName = keyof typeof DATA_TRAITS;

function isDatasetName(name: string): name is DatasetName {
  return Object.hasOwn(DATA_TRAITS, name);
}

/** The Arrow bytes of a named dataset, if the model has that dataset. */
export function datasetBytes(model: Model, name: string): DataView | undefined {
  return isDatasetName(name) ? model.get(DATA_TRAITS[name]) : undefined;
}

/** What one rendered view of the widget shares with its panels and charts. */
export interface CompareContext {
  readonly model: Model;
  /** When the view's render started; a drawn chart records the time since. */
  readonly started: number;
  /** Run ids, labels and colours from `run_info`. */
  readonly index: RunIndex;
  /** True once the view is gone: late async work stops there. */
  readonly disposed: boolean;
  save<K extends keyof CompareModel>(key: K, value: CompareModel[K]): void;
  /** Selects runs (synced to Python) and highlights them in every chart. */
  setSelected(ids: string[]): void;
  /** Asks Python for the histories of an x range (null: the whole history again). */
  zoom(range: [number, number] | null): void;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className !== undefined) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
