// How each kind of run table column looks: its header label, width, alignment and the
// text of a cell. Pure functions over values, so the rules are unit-tested.
import { formatNumber, formatTimestamp } from "./format";
import { splitColumn } from "./table_filters";
import type { ColumnEntity, ColumnInfo, ColumnType } from "./table_types";

const ATTRIBUTE_LABELS: Record<string, string> = {
  run_name: "Run",
  status: "Status",
  start_time: "Created",
  end_time: "Ended",
  user_id: "User",
  experiment_id: "Experiment",
  run_id: "Run ID",
  parent_run_id: "Parent run",
  artifact_uri: "Artifacts",
  lifecycle_stage: "Lifecycle",
};

const MISSING = "—";

/** What a column is, from the store's list or, failing that, from its name. */
export function describeColumn(name: string, available: readonly ColumnInfo[]): ColumnInfo {
  const known = available.find((c) => c.name === name);
  if (known !== undefined) return known;
  const [prefix] = splitColumn(name);
  const entity: ColumnEntity =
    prefix === "metrics" ? "metric" : prefix === "params" ? "param" : prefix === "tags" ? "tag" : "attribute";
  const type: ColumnType =
    entity === "metric"
      ? "number"
      : name === "start_time" || name === "end_time"
        ? "time"
        : name === "status"
          ? "status"
          : "text";
  return { name, entity, type };
}

/** Header text: the key of a metric, param or tag; a word for an attribute. */
export function columnLabel(name: string): string {
  const [prefix, key] = splitColumn(name);
  return prefix === null ? (ATTRIBUTE_LABELS[name] ?? name) : key;
}

/** Pixel width of a column: wide enough for its usual content, no wider. */
export function columnWidth(info: ColumnInfo): number {
  if (info.entity === "attribute") {
    switch (info.name) {
      case "run_name":
        return 190;
      case "status":
        return 116;
      case "run_id":
      case "parent_run_id":
        return 120;
      case "experiment_id":
        return 96;
      default:
        return info.type === "time" ? 148 : 110;
    }
  }
  const label = columnLabel(info.name).length * 7 + 28;
  const base = info.type === "number" ? 92 : 116;
  return Math.min(Math.max(base, label), 220);
}

export function isNumeric(info: ColumnInfo): boolean {
  return info.type === "number" || info.type === "time";
}

export interface CellText {
  text: string;
  /** Right-aligned, tabular digits. */
  numeric: boolean;
  /** Full value for the tooltip when the text is shortened or formatted. */
  title?: string;
}

function asNumber(value: unknown): number | null {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  return null;
}

/** The text of one cell. Params stay as logged ("1e-3" is not rewritten), only aligned. */
export function formatCell(value: unknown, info: ColumnInfo, options: { utc?: boolean } = {}): CellText {
  const numeric = isNumeric(info);
  if (value === null || value === undefined) return { text: MISSING, numeric };
  if (info.type === "time") {
    const ms = asNumber(value);
    return { text: formatTimestamp(ms, { utc: options.utc ?? false }), numeric: true };
  }
  const number = asNumber(value);
  if (number !== null && info.entity === "metric") {
    return { text: formatNumber(number), numeric: true, title: String(number) };
  }
  const text = String(value);
  return { text, numeric, title: text };
}

/** "1.2 kB"-style artifact sizes. */
export function formatBytes(size: number | null | undefined): string {
  if (size === null || size === undefined || !Number.isFinite(size)) return MISSING;
  if (size < 1024) return `${size} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** "12,345 runs", "1 run". */
export function countLabel(count: number, noun = "run"): string {
  return `${formatNumber(count)} ${noun}${count === 1 ? "" : "s"}`;
}
