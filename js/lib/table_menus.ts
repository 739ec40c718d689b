// The toolbar's column menus (Columns, Group by): a search box and the columns by kind.
// The tags canvasback and MLflow set themselves (`canvasback.env.*`, `mlflow.source.*`:
// thirty a run, where a user logs a few params) go in a section of their own, closed
// until opened or searched.
import { h } from "./table_dom";
import { Popover } from "./table_popover";
import type { ColumnInfo } from "./table_types";

export const SYSTEM_TAG_PREFIXES = ["tags.canvasback.", "tags.mlflow."] as const;

/** A tag that canvasback or MLflow sets (a key beginning `canvasback.` or `mlflow.`). */
export function isSystemTag(name: string): boolean {
  return SYSTEM_TAG_PREFIXES.some((prefix) => name.startsWith(prefix));
}

export interface MenuSection {
  id: "attribute" | "metric" | "param" | "tag" | "system";
  title: string;
  items: ColumnInfo[];
  /** Closed unless opened (or while searching). */
  collapsible: boolean;
}

const SECTIONS: [MenuSection["id"], string][] = [
  ["attribute", "Attributes"],
  ["metric", "Metrics"],
  ["param", "Params"],
  ["tag", "Tags"],
  ["system", "System tags"],
];

function sectionOf(info: ColumnInfo): MenuSection["id"] {
  return info.entity === "tag" && isSystemTag(info.name) ? "system" : info.entity;
}

/** The non-empty sections of `columns` whose names hold `query` (any case). */
export function columnSections(columns: readonly ColumnInfo[], query: string): MenuSection[] {
  const needle = query.trim().toLowerCase();
  const out: MenuSection[] = [];
  for (const [id, title] of SECTIONS) {
    const items = columns.filter((c) => sectionOf(c) === id && c.name.toLowerCase().includes(needle));
    if (items.length > 0) out.push({ id, title, items, collapsible: id === "system" });
  }
  return out;
}

export interface ColumnMenuOptions {
  /** Class of the menu (`cb-rt-chooser`, `cb-rt-group-menu`) and its accessible name. */
  className: string;
  label: string;
  /** The columns the menu offers, of those the store has. */
  offers(info: ColumnInfo): boolean;
  /** One entry; `render()` draws them again after a change. */
  item(info: ColumnInfo): HTMLElement;
  /** Entries above the sections (Group by's "None"). */
  head?(): HTMLElement[];
}

/** A popover menu of columns by section, with a search box; system tags start closed. */
export class ColumnMenu {
  readonly popover: Popover;
  readonly #options: ColumnMenuOptions;
  readonly #opened = new Set<MenuSection["id"]>();
  #columns: ColumnInfo[] = [];
  #query = "";

  constructor(options: ColumnMenuOptions) {
    this.#options = options;
    this.popover = new Popover(options.className, options.label);
  }

  setColumns(available: readonly ColumnInfo[]): void {
    this.#columns = available.filter((c) => this.#options.offers(c));
    if (this.popover.isOpen) this.render();
  }

  toggle(anchor: HTMLElement): void {
    this.popover.toggle(anchor);
    if (!this.popover.isOpen) return;
    this.#query = "";
    this.render();
    this.popover.el.querySelector("input")?.focus();
  }

  render(): void {
    const search = h("input", { class: "cb-rt-chooser-search", attrs: { type: "search", placeholder: "Find a column", "aria-label": "Find a column" } });
    search.value = this.#query;
    search.addEventListener("input", () => {
      this.#query = search.value;
      this.render();
      const again = this.popover.el.querySelector<HTMLInputElement>(".cb-rt-chooser-search");
      again?.focus();
      again?.setSelectionRange(search.value.length, search.value.length);
    });
    const searching = this.#query.trim() !== "";
    const sections = columnSections(this.#columns, this.#query);
    const parts: HTMLElement[] = [search, ...(this.#options.head?.() ?? [])];
    if (sections.length === 0) parts.push(h("div", { class: "cb-rt-summary-empty", text: "No column matches" }));
    for (const section of sections) {
      const list = h("div", { class: "cb-rt-chooser-list" }, section.items.map((info) => this.#options.item(info)));
      const heading = `${section.title} (${section.items.length})`;
      if (!section.collapsible) {
        parts.push(h("div", { class: "cb-rt-chooser-section", attrs: { "data-section": section.id } }, [h("div", { class: "cb-rt-chooser-title", text: heading }), list]));
        continue;
      }
      const details = h("details", { class: "cb-rt-chooser-section", attrs: { "data-section": section.id } }, [
        h("summary", { class: "cb-rt-chooser-title", text: heading, title: "Tags canvasback and MLflow set: source, environment, user" }),
        list,
      ]);
      details.open = searching || this.#opened.has(section.id);
      details.addEventListener("toggle", () => {
        if (searching) return; // opened by the search, not by the user
        if (details.open) this.#opened.add(section.id);
        else this.#opened.delete(section.id);
      });
      parts.push(details);
    }
    this.popover.el.replaceChildren(...parts);
    this.popover.place();
  }
}
