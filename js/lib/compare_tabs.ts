// The tabs of the Compare widget: one panel per entry of `panels`, only the visible one
// drawn; the others catch up when shown.
import { focusChart, syncChart } from "./compare_charts";
import { PanelView, renderTable, renderTools } from "./compare_panel";
import { sameIds } from "./compare_selection";
import { el, type CompareContext } from "./compare_types";
import type { Chart } from "./vega";

export class Tabs {
  readonly tabs: HTMLElement;
  readonly stack: HTMLElement;
  readonly #ctx: CompareContext;
  readonly #views = new Map<string, PanelView>();
  readonly #buttons = new Map<string, HTMLButtonElement>();

  constructor(ctx: CompareContext) {
    this.#ctx = ctx;
    this.tabs = el("div", "cb-tabs");
    this.tabs.setAttribute("role", "tablist");
    this.stack = el("div", "cb-panels");
  }

  /** The tab to show: the model's, if it names a panel, else the first. */
  active(): string {
    const panels = this.#ctx.model.get("panels") ?? {};
    const tab = this.#ctx.model.get("tab");
    return tab in panels ? tab : (Object.keys(panels)[0] ?? "history");
  }

  /** Builds a tab per panel; keeps the panels (and their charts) when the names stay. */
  build(): void {
    const { model } = this.#ctx;
    const panels = model.get("panels") ?? {};
    const names = Object.keys(panels);
    if (sameIds(names, [...this.#views.keys()])) {
      for (const [name, button] of this.#buttons) button.textContent = panels[name]?.title ?? name;
      return;
    }
    this.reset();
    this.#views.clear();
    this.#buttons.clear();
    this.tabs.replaceChildren();
    this.stack.replaceChildren();
    for (const name of names) {
      const view = new PanelView(name);
      view.section.id = `cb-${name}-${Math.random().toString(36).slice(2, 8)}`;
      const button = el("button", "cb-tab", panels[name]?.title ?? name);
      button.type = "button";
      button.dataset["tab"] = name;
      button.setAttribute("role", "tab");
      button.setAttribute("aria-controls", view.section.id);
      button.addEventListener("click", () => {
        if (model.get("tab") !== name) this.#ctx.save("tab", name);
        this.show();
      });
      this.tabs.append(button);
      this.stack.append(view.section);
      this.#views.set(name, view);
      this.#buttons.set(name, button);
    }
  }

  /** Shows the active tab and draws it; resolves once it is drawn. */
  show(): Promise<void> {
    const active = this.active();
    for (const [name, view] of this.#views) {
      const on = name === active;
      view.section.hidden = !on;
      this.#buttons.get(name)?.setAttribute("aria-selected", String(on));
    }
    return this.#sync(active);
  }

  /** Highlights the selection in every drawn chart and in a visible params table. */
  async applyFocus(): Promise<void> {
    const charts = [...this.#views.values()].map((view) => view.chart).filter((chart): chart is Chart => chart !== null);
    await Promise.all(charts.map((chart) => focusChart(this.#ctx, chart)));
    const table = this.#views.get("params");
    if (table !== undefined && !table.section.hidden) renderTable(this.#ctx, table, this.#ctx.model.get("panels")?.["params"]);
  }

  reset(): void {
    for (const view of this.#views.values()) view.reset();
  }

  #sync(name: string): Promise<void> {
    const view = this.#views.get(name);
    if (view === undefined) return Promise.resolve();
    view.queue = view.queue.then(() => this.#syncNow(view)).catch((error: unknown) => view.showError(error));
    return view.queue;
  }

  async #syncNow(view: PanelView): Promise<void> {
    const payload = this.#ctx.model.get("panels")?.[view.name];
    if (payload === undefined || this.#ctx.disposed) return;
    renderTools(this.#ctx, view);
    if (payload.table !== undefined || view.name === "params") {
      renderTable(this.#ctx, view, payload);
    } else if (payload.spec === undefined) {
      view.showMessage(payload.message);
    } else {
      await syncChart(this.#ctx, view, { ...payload, spec: payload.spec });
    }
  }
}
