// Filter clauses in the search_runs grammar (src/canvasback/query/filter.py), built
// from a brushed histogram range or a clicked top value. Python parses every clause
// again before using it, so a clause built wrong shows as an error, never as SQL.
import type { ColumnType, SummaryFilter } from "./table_types";
import { formatNumber, formatTimestamp } from "./format";

const PREFIXES = ["metrics", "params", "tags"] as const;
// What the grammar reads as a bare key after a prefix (`metrics.val_acc`, `params.a.b`);
// anything else goes in backticks, which keys may hold with spaces, dashes, slashes, colons.
const BARE_KEY = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;

/** `metrics.acc` -> `["metrics", "acc"]`; an attribute -> `[null, name]`. */
export function splitColumn(name: string): [string | null, string] {
  const dot = name.indexOf(".");
  const prefix = dot > 0 ? name.slice(0, dot) : "";
  if ((PREFIXES as readonly string[]).includes(prefix)) return [prefix, name.slice(dot + 1)];
  return [null, name];
}

/** A column as the grammar writes it: `metrics.acc`, ``params.`learning rate` ``, `status`. */
export function columnRef(name: string): string {
  const [prefix, key] = splitColumn(name);
  if (prefix === null) return key;
  return BARE_KEY.test(key) ? `${prefix}.${key}` : `${prefix}.\`${key}\``;
}

/** A string literal: a quote is doubled; a backslash is doubled so it stays itself. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/** A number literal the grammar reads back as exactly this double. */
export function numberLiteral(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`no literal for ${value}`);
  // String() is the shortest text that round-trips; Python's float() reads it exactly.
  return String(value);
}

function shortName(name: string): string {
  return splitColumn(name)[1];
}

function formatBound(value: number, type: ColumnType): string {
  return type === "time" ? formatTimestamp(value) : formatNumber(value);
}

/** `column >= lo and column < hi`: the half-open bins of a histogram, brushed. */
export function rangeFilter(column: string, lo: number, hi: number, type: ColumnType): SummaryFilter {
  const ref = columnRef(column);
  return {
    column,
    clause: `${ref} >= ${numberLiteral(lo)} and ${ref} < ${numberLiteral(hi)}`,
    label: `${shortName(column)} in [${formatBound(lo, type)}, ${formatBound(hi, type)})`,
    lo,
    hi,
  };
}

/** `column = 'value'`, or `column IS NULL` for the runs without one. */
export function valueFilter(column: string, value: string | null): SummaryFilter {
  const ref = columnRef(column);
  if (value === null) {
    return { column, clause: `${ref} IS NULL`, label: `${shortName(column)} is missing`, value };
  }
  return { column, clause: `${ref} = ${quoteString(value)}`, label: `${shortName(column)} = ${value}`, value };
}

/** The filters with `next` replacing any earlier one on the same column. */
export function withFilter(filters: readonly SummaryFilter[], next: SummaryFilter): SummaryFilter[] {
  return [...filters.filter((f) => f.column !== next.column), next];
}

/** The filters without the one at `index`. */
export function withoutFilter(filters: readonly SummaryFilter[], index: number): SummaryFilter[] {
  return filters.filter((_f, i) => i !== index);
}
