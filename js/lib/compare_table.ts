// The params table of the Compare widget: one row per param, one column per run.
//
// Everything in it comes from runs (names, param keys and values), so every cell is set
// with textContent; nothing here parses markup.
import type { RunInfo } from "./compare_selection";

export interface ParamsRow {
  key: string;
  values: (string | null)[];
  differs: boolean;
  /** A param, or a tag of the run's code or environment (`code · git.commit`). */
  kind?: "param" | "provenance";
}

export interface ParamsTable {
  runs: RunInfo[];
  rows: ParamsRow[];
}

export interface TableOptions {
  diffOnly: boolean;
  selected: ReadonlySet<string>;
  onToggleRun?: (runId: string, additive: boolean) => void;
}

const MISSING = "—";

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className !== undefined) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The rows to show: every param, or only those whose value differs between runs. */
export function visibleRows(table: ParamsTable, diffOnly: boolean): ParamsRow[] {
  return diffOnly ? table.rows.filter((row) => row.differs) : table.rows;
}

function differCount(rows: readonly ParamsRow[], noun: string): string {
  const differ = rows.filter((row) => row.differs).length;
  const total = rows.length;
  return `${differ} of ${total} ${noun}${total === 1 ? "" : "s"} differ${differ === 1 ? "s" : ""}`;
}

/**
 * A caption such as "3 of 7 params differ · 1 of 14 code and environment tags differs":
 * params and the tags of how runs were made are counted apart.
 */
export function summary(table: ParamsTable): string {
  const params = table.rows.filter((row) => row.kind !== "provenance");
  const tags = table.rows.filter((row) => row.kind === "provenance");
  const parts = [params.length > 0 || tags.length === 0 ? differCount(params, "param") : "No params"];
  if (tags.length > 0) parts.push(differCount(tags, "code and environment tag"));
  return parts.join(" · ");
}

/** Build the table element; clicking a run's header toggles its selection. */
export function paramsTableElement(table: ParamsTable, options: TableOptions): HTMLTableElement {
  const element = el("table", "cb-params-table");
  const head = element.createTHead().insertRow();
  head.append(el("th", "cb-param-key", "param"));
  table.runs.forEach((run) => {
    const th = el("th", "cb-run-head");
    th.dataset["runId"] = run.run_id;
    th.title = run.run_id;
    if (options.selected.has(run.run_id)) th.classList.add("cb-selected");
    const swatch = el("span", "cb-swatch");
    swatch.style.background = run.color;
    th.append(swatch, el("span", "cb-run-label", run.label));
    if (options.onToggleRun !== undefined) {
      const toggle = options.onToggleRun;
      th.tabIndex = 0;
      th.setAttribute("role", "button");
      th.addEventListener("click", (event) => {
        toggle(run.run_id, event.shiftKey || event.metaKey || event.ctrlKey);
      });
      th.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          toggle(run.run_id, event.shiftKey);
        }
      });
    }
    head.append(th);
  });
  const body = element.createTBody();
  const rows = visibleRows(table, options.diffOnly);
  for (const row of rows) {
    const tr = body.insertRow();
    if (row.differs) tr.classList.add("cb-differs");
    tr.append(el("th", "cb-param-key", row.key));
    row.values.forEach((value, i) => {
      const td = el("td", value === null ? "cb-missing" : undefined, value ?? MISSING);
      const run = table.runs[i];
      if (run !== undefined && options.selected.has(run.run_id)) td.classList.add("cb-selected");
      tr.append(td);
    });
  }
  if (rows.length === 0) {
    const tr = body.insertRow();
    const td = el("td", "cb-empty", "Every param has the same value in all runs.");
    td.colSpan = table.runs.length + 1;
    tr.append(td);
  }
  return element;
}
