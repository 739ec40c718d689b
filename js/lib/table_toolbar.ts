// The run table's controls: the filter box (with its error and caret, or a hint when it
// names a key no run has), the active summary filters, the column chooser, group by,
// refresh, and the run count with the selection (and how much of it the filter hides).
import { h } from "./table_dom";
import { columnLabel, countLabel } from "./table_format";
import { ColumnMenu } from "./table_menus";
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

/** What the run count says: `2 runs · 5 selected, 3 hidden by the filter`. */
export function countText(total: number, selected: number, shown: number, filtered: boolean, grouped: boolean): string {
  const parts = [countLabel(total)];
  if (selected > 0) {
    const hidden = Math.max(selected - shown, 0);
    const where = filtered ? "hidden by the filter" : "not in this table";
    parts.push(`${selected.toLocaleString("en-US")} selected${hidden > 0 ? `, ${hidden.toLocaleString("en-US")} ${where}` : ""}`);
  }
  return grouped ? `${parts.join(" · ")} (grouped)` : parts.join(" · ");
}

function groupLabel(column: string): string {
  return column === "" ? "None" : column.includes(".") ? column : columnLabel(column);
}

export class Toolbar {
  readonly el: HTMLDivElement;
  readonly #input: HTMLInputElement;
  readonly #error: HTMLDivElement;
  readonly #hint: HTMLDivElement;
  readonly #chips: HTMLDivElement;
  readonly #group: HTMLButtonElement;
  readonly #groupMenu: ColumnMenu;
  readonly #count: HTMLSpanElement;
  readonly #clear: HTMLButtonElement;
  readonly #refresh: HTMLButtonElement;
  readonly #chooser: ColumnMenu;
  readonly #chooserButton: HTMLButtonElement;
  readonly #callbacks: ToolbarCallbacks;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #columns: string[] = [];
  #groupBy = "";

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
    this.#chooserButton = h("button", { class: "cb-rt-button", text: "Columns", title: "Choose the columns shown", attrs: { "aria-haspopup": "true", "aria-expanded": "false" } });
    this.#chooser = new ColumnMenu({ className: "cb-rt-chooser", label: "Columns", offers: () => true, item: (info) => this.#columnItem(info) });
    this.#chooserButton.addEventListener("click", () => this.#chooser.toggle(this.#chooserButton));
    this.#group = h("button", { class: "cb-rt-button cb-rt-group", text: "None", attrs: { "aria-haspopup": "true", "aria-expanded": "false", "aria-label": "Group by" } });
    this.#groupMenu = new ColumnMenu({
      className: "cb-rt-group-menu",
      label: "Group by",
      offers: (info) => GROUP_ENTITIES.has(info.entity) || GROUP_ATTRIBUTES.includes(info.name),
      item: (info) => this.#groupItem(info.name, columnLabel(info.name)),
      head: () => [this.#groupItem("", "None")],
    });
    this.#group.addEventListener("click", () => this.#groupMenu.toggle(this.#group));
    this.#refresh = h("button", { class: "cb-rt-button cb-rt-refresh", text: "↻", title: "Reload runs from the store", attrs: { "aria-label": "Refresh" } });
    this.#refresh.addEventListener("click", () => callbacks.onRefresh());
    this.#count = h("span", { class: "cb-rt-count", attrs: { "aria-live": "polite" } });
    this.#clear = h("button", { class: "cb-rt-link", text: "clear", title: "Clear the selection", attrs: { hidden: "" } });
    this.#clear.addEventListener("click", () => callbacks.onClearSelection());
    this.#error = h("div", { class: "cb-rt-error", attrs: { role: "alert", hidden: "" } });
    this.#hint = h("div", { class: "cb-rt-hint", attrs: { role: "status", hidden: "" } });
    this.#chips = h("div", { class: "cb-rt-chips", attrs: { hidden: "" } });
    const bar = h("div", { class: "cb-rt-toolbar" }, [
      h("div", { class: "cb-rt-search" }, [this.#input]),
      this.#chooserButton,
      h("span", { class: "cb-rt-group-label" }, [h("span", { text: "Group by" }), this.#group]),
      this.#refresh,
      h("span", { class: "cb-rt-spacer" }),
      this.#count,
      this.#clear,
    ]);
    this.el = h("div", { class: "cb-rt-controls" }, [bar, this.#error, this.#hint, this.#chips, this.#chooser.popover.el, this.#groupMenu.popover.el]);
  }

  #columnItem(info: ColumnInfo): HTMLElement {
    const box = h("input", { attrs: { type: "checkbox", "data-column": info.name } });
    box.checked = this.#columns.includes(info.name);
    box.addEventListener("change", () => {
      const next = box.checked ? [...this.#columns, info.name] : this.#columns.filter((c) => c !== info.name);
      this.#columns = next;
      this.#callbacks.onColumns(next);
    });
    const label = info.entity === "attribute" ? `${columnLabel(info.name)} (${info.name})` : columnLabel(info.name);
    return h("label", { class: "cb-rt-chooser-item", title: info.name }, [box, h("span", { text: label })]);
  }

  #groupItem(column: string, label: string): HTMLElement {
    const chosen = column === this.#groupBy;
    const item = h("button", {
      class: chosen ? "cb-rt-menu-item chosen" : "cb-rt-menu-item",
      text: label,
      title: column || "The runs, ungrouped",
      attrs: { role: "menuitemradio", "aria-checked": String(chosen), "data-column": column },
    });
    item.addEventListener("click", () => {
      this.#groupMenu.popover.close();
      this.#callbacks.onGroupBy(column);
    });
    return item;
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

  /** A hint on the filter from Python (a key no run has, and the closest ones), as text. */
  setHint(hint: string): void {
    this.#hint.textContent = hint;
    this.#hint.toggleAttribute("hidden", hint === "");
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

  /** `selected` runs of which `shown` pass the filter (`filtered`: one applies). */
  setCounts(total: number, selected: number, shown: number, filtered: boolean, grouped: boolean): void {
    this.#count.textContent = countText(total, selected, shown, filtered, grouped);
    this.#clear.toggleAttribute("hidden", selected === 0);
  }

  setBusy(busy: boolean): void {
    this.#refresh.classList.toggle("busy", busy);
    this.#refresh.disabled = busy;
  }

  /** The choosable columns and the visible ones; the group-by menu follows. */
  setColumns(available: ColumnInfo[], columns: string[], groupBy: string): void {
    this.#columns = columns;
    this.#groupBy = groupBy;
    this.#group.textContent = groupLabel(groupBy);
    this.#group.title = groupBy === "" ? "Group the runs by a param, tag or attribute" : `Grouped by ${groupBy}`;
    this.#chooser.setColumns(available);
    this.#groupMenu.setColumns(available);
  }

  /** Close the menus on a click outside them or on Escape. */
  closePopups(event: Event): void {
    this.#chooser.popover.dismiss(event);
    this.#groupMenu.popover.dismiss(event);
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#chooser.popover.close();
    this.#groupMenu.popover.close();
  }
}
