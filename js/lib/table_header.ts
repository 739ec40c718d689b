// The run table's header: sortable column titles above summaries computed in DuckDB
// (a histogram to brush for numbers, the top values to click for text). A click anywhere
// in a header cell sorts, but on what acts itself: a top value, a brush, the resize handle.
import { formatNumber } from "./format";
import { h, histogram } from "./table_dom";
import { columnLabel, isNumeric } from "./table_format";
import { firstSort } from "./table_model";
import type { ColumnInfo, SortSpec, Summary, SummaryFilter, TopSummary } from "./table_types";
import type { HeaderCheck } from "./table_selection";

export interface HeaderCallbacks {
  /** Header clicked; `additive` (shift) makes it a further sort key. */
  onSort(column: string, additive: boolean): void;
  onSelectAll(): void;
  /** Histogram bins brushed: the range [lo, hi) of `column`. */
  onBrush(column: string, lo: number, hi: number): void;
  /** A top value clicked; null stands for "runs without a value". */
  onValue(column: string, value: string | null): void;
}

const TOP_SHOWN = 3;
const HIST_HEIGHT = 26;
const ENTITY_CLASS: Record<string, string> = { metric: "metric", param: "param", tag: "tag", attribute: "attribute" };
const ENTITY_NAME: Record<string, string> = { metric: "metric", param: "param", tag: "tag", attribute: "attribute" };

/** What a click on the header of `info` does, for its tooltip. */
export function sortTitle(info: ColumnInfo): string {
  const goal = info.better === undefined ? "" : `, ${info.better} is better`;
  const order = info.entity === "metric" ? (firstSort(info).descending ? ", highest first" : ", lowest first") : "";
  return `${info.name} (${ENTITY_NAME[info.entity] ?? info.entity}${goal}): click to sort${order}; shift-click adds a sort key`;
}

export class TableHeader {
  readonly el: HTMLDivElement;
  readonly #check: HTMLInputElement;
  readonly #cells = new Map<string, { cell: HTMLDivElement; arrow: HTMLSpanElement; summary: HTMLDivElement }>();
  readonly #columns: ColumnInfo[];
  readonly #widths: number[];
  readonly #callbacks: HeaderCallbacks;

  constructor(columns: ColumnInfo[], widths: number[], callbacks: HeaderCallbacks) {
    this.#columns = columns;
    this.#widths = widths;
    this.#callbacks = callbacks;
    this.#check = h("input", { class: "cb-rt-select-all", title: "Select every matching run", attrs: { type: "checkbox", "aria-label": "Select all runs" } });
    this.#check.addEventListener("click", (event) => {
      event.preventDefault();
      callbacks.onSelectAll();
    });
    this.el = h("div", { class: "cb-rt-head", attrs: { role: "row" } }, [
      h("div", { class: "cb-rt-hcell cb-rt-fixed cb-rt-sel" }, [this.#check]),
      h("div", { class: "cb-rt-hcell cb-rt-fixed cb-rt-open" }),
    ]);
    columns.forEach((info, i) => this.el.append(this.#cell(info, i === 0)));
  }

  #cell(info: ColumnInfo, first: boolean): HTMLDivElement {
    const arrow = h("span", { class: "cb-rt-arrow" });
    // The button is the cell's keyboard way in; its click bubbles to the cell's.
    const button = h("button", { class: "cb-rt-sort" }, [
      h("span", { class: `cb-rt-dot ${ENTITY_CLASS[info.entity] ?? ""}` }),
      h("span", { class: "cb-rt-label", text: columnLabel(info.name) }),
      arrow,
    ]);
    const summary = h("div", { class: "cb-rt-summary" });
    const numeric = isNumeric(info) ? " num" : "";
    const cell = h("div", { class: `cb-rt-hcell${numeric}${first ? " cb-rt-first" : ""}`, title: sortTitle(info), attrs: { role: "columnheader", "data-column": info.name } }, [button, summary]);
    cell.addEventListener("click", (event) => this.#callbacks.onSort(info.name, event.shiftKey));
    this.#cells.set(info.name, { cell, arrow, summary });
    return cell;
  }

  /** Arrows (and key numbers when several) on the sorted columns. */
  setSort(sort: readonly SortSpec[]): void {
    for (const [name, { cell, arrow }] of this.#cells) {
      const index = sort.findIndex((s) => s.column === name);
      const spec = sort[index];
      cell.setAttribute("aria-sort", spec === undefined ? "none" : spec.descending ? "descending" : "ascending");
      arrow.textContent = spec === undefined ? "" : `${spec.descending ? "▼" : "▲"}${sort.length > 1 ? index + 1 : ""}`;
      cell.classList.toggle("sorted", spec !== undefined);
    }
  }

  setCheck(state: HeaderCheck): void {
    this.#check.checked = state === "all";
    this.#check.indeterminate = state === "some";
  }

  /** Fill each column's summary; `filters` shade the active range or value. */
  setSummaries(summaries: Record<string, Summary>, filters: readonly SummaryFilter[]): void {
    this.#columns.forEach((info, i) => {
      const entry = this.#cells.get(info.name);
      const summary = summaries[info.name];
      if (entry === undefined) return;
      entry.summary.replaceChildren();
      if (summary === undefined || summary.kind === "none") return;
      const active = filters.find((f) => f.column === info.name);
      if (summary.kind === "histogram") {
        if (summary.counts.length === 0) {
          entry.summary.append(h("span", { class: "cb-rt-summary-empty", text: "no values" }));
          return;
        }
        const range = active?.lo !== undefined && active.hi !== undefined ? { lo: active.lo, hi: active.hi } : undefined;
        entry.summary.append(
          histogram(summary, {
            width: Math.max((this.#widths[i] ?? 90) - 14, 20),
            height: HIST_HEIGHT,
            type: info.type,
            active: range,
            onBrush: (first, last) => {
              const lo = summary.edges[first];
              const hi = summary.edges[last + 1];
              if (lo !== undefined && hi !== undefined) this.#callbacks.onBrush(info.name, lo, hi);
            },
          }),
        );
      } else {
        entry.summary.append(this.#topValues(info.name, summary, active));
      }
    });
  }

  #topValues(column: string, summary: TopSummary, active: SummaryFilter | undefined): HTMLElement {
    const list = h("div", { class: "cb-rt-top" });
    const total = Math.max(summary.total, 1);
    for (const { value, count } of summary.values.slice(0, TOP_SHOWN)) {
      const share = count / total;
      const bar = h("span", { class: "cb-rt-top-bar" });
      bar.style.width = `${Math.round(share * 100)}%`;
      const isActive = active !== undefined && active.value === value && active.lo === undefined;
      const button = h(
        "button",
        {
          class: isActive ? "cb-rt-top-value active" : "cb-rt-top-value",
          title: `${value ?? "(missing)"}: ${formatNumber(count)} runs. Click to filter.`,
        },
        [bar, h("span", { class: "cb-rt-top-text", text: value ?? "(missing)" }), h("span", { class: "cb-rt-top-count", text: `${Math.round(share * 100)}%` })],
      );
      button.addEventListener("click", (event) => {
        event.stopPropagation();
        this.#callbacks.onValue(column, value);
      });
      list.append(button);
    }
    const rest = summary.distinct - Math.min(summary.values.length, TOP_SHOWN);
    if (rest > 0 && summary.values.length >= TOP_SHOWN) {
      list.title = `${formatNumber(summary.distinct)} distinct values`;
    }
    return list;
  }
}
