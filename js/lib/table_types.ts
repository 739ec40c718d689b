// The run table's wire contract: synced traits and RPC messages, mirrored from
// src/canvasback/widgets/run_table.py (traits) and its @rpc handlers (requests).

export type ColumnEntity = "attribute" | "metric" | "param" | "tag";
export type ColumnType = "number" | "text" | "time" | "status";

/** One column the store offers (`available_columns`). */
export interface ColumnInfo {
  name: string;
  entity: ColumnEntity;
  type: ColumnType;
  /** A metric's better direction, when known (a sweep's goal, else its name). */
  better?: "lower" | "higher";
}

export interface SortSpec {
  column: string;
  descending: boolean;
}

/** A clause added from a column summary; `lo`/`hi`/`value` only drive highlighting. */
export interface SummaryFilter {
  column: string;
  clause: string;
  label: string;
  lo?: number;
  hi?: number;
  value?: string | null;
}

export interface FilterErrorInfo {
  reason: string;
  position: number | null;
  text: string;
  source: "filter" | "summary" | "sort";
}

/** Synced traits, declared in Python by `RunTable`. */
export interface RunTableModel {
  experiment_ids: string[];
  filter: string;
  summary_filters: SummaryFilter[];
  sort: SortSpec[];
  columns: string[];
  available_columns: ColumnInfo[];
  group_by: string;
  selected_ids: string[];
  /** How many of `selected_ids` match the filter; the others are hidden by it. */
  selected_shown: number;
  total: number;
  error: FilterErrorInfo | null;
  /** Why the filter may match nothing (keys no run has, and the closest); or "". */
  hint: string;
  generation: number;
  height: number;
  /** Column name -> width in px, for columns resized in the header. */
  column_widths: Record<string, number>;
}

export interface HistogramSummary {
  kind: "histogram";
  /** Bin edges: bin i holds values in [edges[i], edges[i + 1]). */
  edges: number[];
  counts: number[];
  missing: number;
  min?: number;
  max?: number;
}

export interface TopSummary {
  kind: "top";
  values: { value: string | null; count: number }[];
  distinct: number;
  total: number;
}

export type Summary = HistogramSummary | TopSummary | { kind: "none" };

export interface KeyValue {
  key: string;
  value: string;
}

export interface RunDetail {
  run_id: string;
  run_name: string | null;
  status: string | null;
  start_time: number | null;
  end_time: number | null;
  experiment_id: string;
  experiment_name: string | null;
  user_id: string | null;
  parent_run_id: string | null;
  lifecycle_stage: string;
  params: KeyValue[];
  tags: KeyValue[];
  /** Latest values; NaN and infinities arrive as their names. */
  metrics: { key: string; value: number | string | null; step: number }[];
  artifacts: { path: string; size: number | null }[];
  /** Datasets the run logged with log_input (absent from older replies). */
  datasets?: { name: string; digest: string; context: string; source: string }[];
}

/** Requests the front end makes and what Python answers (plus Arrow buffers). */
export interface TableRpc {
  page: {
    request: { offset: number; limit: number; columns: string[] };
    reply: { offset: number; count: number; total: number; generation: number };
  };
  summaries: {
    request: { columns: string[] };
    reply: { generation: number; summaries: Record<string, Summary> };
  };
  groups: {
    request: { group_by: string; columns: string[] };
    reply: { generation: number; groups: number; count: number };
  };
  detail: { request: { run_id: string; max_points: number }; reply: RunDetail };
  /** Select the runs shown (or a range of them); `add` keeps the selection, `remove` unselects them. */
  select: {
    request: { mode: "all" | "range"; start?: number; end?: number; add: boolean; remove?: boolean };
    reply: { count: number };
  };
  refresh: { request: Record<string, never>; reply: { total: number; generation: number } };
  /** The selected rows the table shows, as tab-separated text with a header line. */
  copy: { request: { columns: string[] }; reply: { text: string; count: number } };
}
