// Turning a Vega-Lite selection into run ids, for the Compare widget.
//
// Charts select runs by label (the field that colours them, so a legend click works
// too); a brush selects a rectangle of a chart's rows. Both end up as run ids, which is
// what Python and the other charts understand.
import type { Row } from "./arrow";

export interface RunInfo {
  run_id: string;
  label: string;
  color: string;
}

/** Label -> run id and back, from the widget's `run_info`. */
export interface RunIndex {
  idOf: Map<string, string>;
  labelOf: Map<string, string>;
  order: string[];
}

export function runIndex(runs: readonly RunInfo[]): RunIndex {
  const idOf = new Map<string, string>();
  const labelOf = new Map<string, string>();
  for (const run of runs) {
    idOf.set(run.label, run.run_id);
    labelOf.set(run.run_id, run.label);
  }
  return { idOf, labelOf, order: runs.map((run) => run.run_id) };
}

type Extent = readonly unknown[];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether `value` lies in a brush extent: `[lo, hi]` for numbers, a list for categories. */
export function inExtent(value: unknown, extent: Extent): boolean {
  const numeric = extent.length === 2 && extent.every((bound) => typeof bound === "number");
  if (numeric && typeof value === "number") {
    const [a, b] = extent as readonly [number, number];
    return value >= Math.min(a, b) && value <= Math.max(a, b);
  }
  return extent.some((item) => item === value);
}

/** Runs in the order of the comparison, without duplicates or unknown ids. */
function ordered(ids: Iterable<string>, index: RunIndex): string[] {
  const chosen = new Set(ids);
  return index.order.filter((id) => chosen.has(id));
}

/**
 * Run ids picked by a selection's value (`view.signal(name)`).
 *
 * A point selection on the `run` field gives `{run: [label, ...]}`; an interval gives
 * `{field: [lo, hi] | [category, ...], ...}`, matched against `rows` (which carry
 * `run_id`). An empty selection, `{}` or null, gives no runs.
 */
export function selectedRuns(value: unknown, index: RunIndex, rows: readonly Row[] = []): string[] {
  if (!isRecord(value)) return [];
  const entries = Object.entries(value).filter((entry): entry is [string, Extent] => Array.isArray(entry[1]));
  if (entries.length === 0) return [];
  const labels = entries.find(([field]) => field === "run");
  if (labels !== undefined && entries.length === 1) {
    const ids: string[] = [];
    for (const label of labels[1]) {
      const id = typeof label === "string" ? index.idOf.get(label) : undefined;
      if (id !== undefined) ids.push(id);
    }
    return ordered(ids, index);
  }
  const hits: string[] = [];
  for (const row of rows) {
    if (entries.every(([field, extent]) => inExtent(row[field], extent))) {
      const id = row["run_id"];
      if (typeof id === "string") hits.push(id);
    }
  }
  return ordered(hits, index);
}

/** Labels of the selected runs: the value of every chart's `focus` parameter. */
export function focusLabels(ids: readonly string[], index: RunIndex): string[] {
  const labels: string[] = [];
  for (const id of ids) {
    const label = index.labelOf.get(id);
    if (label !== undefined) labels.push(label);
  }
  return labels;
}

export function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
