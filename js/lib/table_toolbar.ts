// The run table's controls: the filter box (with its error and caret), the active
// summary filters, the column chooser, group by, refresh, and the run count.
import { h } from "./table_dom";
import { columnLabel, countLabel } from "./table_format";
import type { ColumnInfo, FilterErrorInfo, SummaryFilter } from "./table_types";

export interface ToolbarCallbacks {
  onFilter(text: string): void;
  onRemoveFilter(index: number): void;
  onColumns(columns: string[]): void;
  onGroupBy(column: string): void;
  onRefresh(): void;
  onClearSelection(): void;
}

const FILTER_DELAY_MS = 300;
const GROUP_ENTITIES = new Set(["param", "tag"]);
const GROUP_ATTRIBUTES = ["status", "user_id", "experiment_id"];
const SECTIONS: [string, string][] = [
  ["attribute", "Attributes"],
  ["metric", "Metrics"],
  ["param", "Params"],
  ["tag", "Tags"],
];

export class Toolbar {
  readonly el: HTMLDivElement;
  readonly #input: HTMLInputElement;
  readonly #error: HTMLDivElement;
  readonly #chips: HTMLDivElement;
  readonly #group: HTMLSelectElement;
  readonly #count: HTMLSpanElement;
  readonly #clear: HTMLButtonElement;
  readonly #refresh: HTMLButtonElement;
  readonly #chooser: HTMLDivElement;
  readonly #chooserButton: HTMLButtonElement;
  readonly #callbacks: ToolbarCallbacks;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #available: ColumnInfo[] = [];
  #columns: string[] = [];

  constructor(callbacks: ToolbarCallbacks) {
    this.#callbacks = callbacks;
    this.#input = h("input", {
      class: "cb-rt-filter",
      attrs: {
        type: "search",
        spellcheck: "false",
        autocomplete: "off",
        placeholder: "Filter: metrics.acc > 0.9 and params.optimizer = 'adam'",
        "aria-label": "Filter runs",
      },
    });
    this.#input.addEventListener("input", () => {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        callbacks.onFilter(this.#input.value);
      }, FILTER_DELAY_MS);
    });
    this.#input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        callbacks.onFilter(this.#input.value);
      }
    });
    this.#chooserButton = h("button", { class: "cb-rt-button", text: "Columns", title: "Choose the columns shown", attrs: { "aria-haspopup": "true" } });
    this.#chooser = h("div", { class: "cb-rt-chooser", attrs: { hidden: "", role: "dialog", "aria-label": "Columns" } });
    this.#chooserButton.addEventListener("click", (event) => {
      event.stopPropagation();
      this.#toggleChooser();
    });
    this.#group = h("select", { class: "cb-rt-group", attrs: { "aria-label": "Group by" } });
    this.#group.addEventListener("change", () => callbacks.onGroupBy(this.#group.value));
    this.#refresh = h("button", { class: "cb-rt-button cb-rt-refresh", text: "↻", title: "Reload runs from the store", attrs: { "aria-label": "Refresh" } });
    this.#refresh.addEventListener("click", () => callbacks.onRefresh());
    this.#count = h("span", { class: "cb-rt-count", attrs: { "aria-live": "polite" } });
    this.#clear = h("button", { class: "cb-rt-link", text: "clear", title: "Clear the selection", attrs: { hidden: "" } });
    this.#clear.addEventListener("click", () => callbacks.onClearSelection());
    this.#error = h("div", { class: "cb-rt-error", attrs: { role: "alert", hidden: "" } });
    this.#chips = h("div", { class: "cb-rt-chips", attrs: { hidden: "" } });
    const bar = h("div", { class: "cb-rt-toolbar" }, [
      h("div", { class: "cb-rt-search" }, [this.#input]),
      h("div", { class: "cb-rt-anchor" }, [this.#chooserButton, this.#chooser]),
      h("label", { class: "cb-rt-group-label" }, [h("span", { text: "Group by" }), this.#group]),
      this.#refresh,
      h("span", { class: "cb-rt-spacer" }),
      this.#count,
      this.#clear,
    ]);
    this.el = h("div", { class: "cb-rt-controls" }, [bar, this.#error, this.#chips]);
  }

  /** Show `text` in the box unless an edit of the user's is still to be applied. */
  setFilter(text: string): void {
    if (this.#timer === undefined && this.#input.value !== text) this.#input.value = text;
  }

  /** The error under the box: its reason, then the filter with a caret at the spot. */
  setError(error: FilterErrorInfo | null): void {
    this.#input.classList.toggle("invalid", error?.source === "filter");
    this.#error.replaceChildren();
    this.#error.toggleAttribute("hidden", error === null);
    if (error === null) return;
    const where = error.position === null ? "" : ` at position ${error.position}`;
    const what = error.source === "filter" ? "Filter not applied" : error.source === "summary" ? "Summary filter ignored" : "Sort ignored";
    this.#error.append(h("div", { class: "cb-rt-error-reason", text: `${what}${where}: ${error.reason}` }));
    if (error.position !== null && error.text) {
      // Line breaks would push the caret off the column it points at.
      const shown = error.text.replace(/\s/g, " ");
      this.#error.append(h("pre", { class: "cb-rt-caret", text: `${shown}\n${" ".repeat(error.position)}^` }));
    }
  }

  setSummaryFilters(filters: readonly SummaryFilter[]): void {
    this.#chips.replaceChildren();
    this.#chips.toggleAttribute("hidden", filters.length === 0);
    filters.forEach((filter, index) => {
      const remove = h("button", { class: "cb-rt-chip-x", text: "×", title: "Remove this filter", attrs: { "aria-label": `Remove filter ${filter.label}` } });
      remove.addEventListener("click", () => this.#callbacks.onRemoveFilter(index));
      this.#chips.append(h("span", { class: "cb-rt-chip", title: filter.clause }, [h("span", { text: filter.label }), remove]));
    });
  }

  setCounts(total: number, selected: number, grouped: boolean): void {
    const parts = [countLabel(total)];
    if (selected > 0) parts.push(`${selected.toLocaleString("en-US")} selected`);
    this.#count.textContent = grouped ? `${parts.join(" · ")} (grouped)` : parts.join(" · ");
    this.#clear.toggleAttribute("hidden", selected === 0);
  }

  setBusy(busy: boolean): void {
    this.#refresh.classList.toggle("busy", busy);
    this.#refresh.disabled = busy;
  }

  /** The choosable columns and the visible ones; the group-by menu follows. */
  setColumns(available: ColumnInfo[], columns: string[], groupBy: string): void {
    this.#available = available;
    this.#columns = columns;
    const options = [h("option", { text: "None", attrs: { value: "" } })];
    const candidates = available.filter((c) => GROUP_ENTITIES.has(c.entity) || GROUP_ATTRIBUTES.includes(c.name));
    for (const info of candidates) {
      options.push(h("option", { text: info.entity === "attribute" ? columnLabel(info.name) : info.name, attrs: { value: info.name } }));
    }
    if (groupBy && !candidates.some((c) => c.name === groupBy)) options.push(h("option", { text: groupBy, attrs: { value: groupBy } }));
    this.#group.replaceChildren(...options);
    this.#group.value = groupBy;
    if (!this.#chooser.hidden) this.#renderChooser(this.#chooser.querySelector("input")?.value ?? "");
  }

  #toggleChooser(): void {
    const open = this.#chooser.hidden;
    this.#chooser.toggleAttribute("hidden", !open);
    this.#chooserButton.setAttribute("aria-expanded", String(open));
    if (open) {
      this.#renderChooser("");
      this.#chooser.querySelector("input")?.focus();
    }
  }

  /** Close the chooser on a click outside it or on Escape. */
  closePopups(event: Event): void {
    if (this.#chooser.hidden) return;
    if (event instanceof KeyboardEvent && event.key !== "Escape") return;
    if (event.target instanceof Node && this.#chooser.contains(event.target) && !(event instanceof KeyboardEvent)) return;
    this.#chooser.setAttribute("hidden", "");
    this.#chooserButton.setAttribute("aria-expanded", "false");
  }

  #renderChooser(query: string): void {
    const search = h("input", { class: "cb-rt-chooser-search", attrs: { type: "search", placeholder: "Find a column", "aria-label": "Find a column" } });
    search.value = query;
    search.addEventListener("input", () => {
      this.#renderChooser(search.value);
      const again = this.#chooser.querySelector<HTMLInputElement>(".cb-rt-chooser-search");
      again?.focus();
      again?.setSelectionRange(search.value.length, search.value.length);
    });
    const needle = query.trim().toLowerCase();
    const lists: HTMLElement[] = [];
    for (const [entity, title] of SECTIONS) {
      const items = this.#available.filter((c) => c.entity === entity && c.name.toLowerCase().includes(needle));
      if (items.length === 0) continue;
      const list = h("div", { class: "cb-rt-chooser-list" });
      for (const info of items) {
        const box = h("input", { attrs: { type: "checkbox", "data-column": info.name } });
        box.checked = this.#columns.includes(info.name);
        box.addEventListener("change", () => {
          const next = box.checked ? [...this.#columns, info.name] : this.#columns.filter((c) => c !== info.name);
          this.#columns = next;
          this.#callbacks.onColumns(next);
        });
        const label = info.entity === "attribute" ? `${columnLabel(info.name)} (${info.name})` : columnLabel(info.name);
        list.append(h("label", { class: "cb-rt-chooser-item", title: info.name }, [box, h("span", { text: label })]));
      }
      lists.push(h("div", { class: "cb-rt-chooser-section" }, [h("div", { class: "cb-rt-chooser-title", text: `${title} (${items.length})` }), list]));
    }
    if (lists.length === 0) lists.push(h("div", { class: "cb-rt-summary-empty", text: "No column matches" }));
    this.#chooser.replaceChildren(search, ...lists);
  }

  dispose(): void {
    clearTimeout(this.#timer);
  }
}
