// One tab of the Compare widget: its section, the tools above it, its params table or
// message, and an error box in place of a chart that failed.
import { checkboxField, selectField } from "./compare_controls";
import { sameIds } from "./compare_selection";
import { paramsTableElement, summary } from "./compare_table";
import type { CompareContext, PanelPayload } from "./compare_types";
import { el } from "./compare_types";
import { errorBox, type Chart } from "./vega";

/** One tab: its chart (or table), and what it was last drawn from. */
export class PanelView {
  readonly section: HTMLElement;
  readonly header: HTMLElement;
  readonly tools: HTMLElement;
  readonly note: HTMLElement;
  readonly body: HTMLElement;
  chart: Chart | null = null;
  specText: string | null = null;
  drawn = new Map<string, DataView>();
  generation = 0;
  /** Runs each selection parameter of this chart picks, least recently changed first. */
  picks = new Map<string, string[]>();
  /** Syncs run one after another, so each sees what the previous one drew. */
  queue: Promise<void> = Promise.resolve();

  constructor(readonly name: string) {
    this.section = el("section", "cb-panel");
    this.section.dataset["panel"] = name;
    this.section.dataset["state"] = "pending";
    this.section.setAttribute("role", "tabpanel");
    this.header = el("div", "cb-panel-head");
    this.tools = el("div", "cb-panel-tools");
    this.note = el("p", "cb-note");
    this.body = el("div", "cb-panel-body");
    this.header.append(this.tools);
    this.section.append(this.header, this.note, this.body);
  }

  reset(): void {
    this.generation += 1;
    this.chart?.finalize();
    this.chart = null;
    this.specText = null;
    this.drawn.clear();
    this.picks.clear();
  }

  setNote(text: string | undefined): void {
    this.note.textContent = text ?? "";
    this.note.hidden = text === undefined || text === "";
  }

  /** A panel with nothing to draw but its message. */
  showMessage(message: string | undefined): void {
    this.reset();
    this.body.replaceChildren();
    this.setNote(message);
    this.section.dataset["state"] = "message";
  }

  showError(error: unknown): void {
    this.reset();
    this.body.replaceChildren(errorBox(error));
    this.section.dataset["state"] = "error";
  }
}

/** The controls of a panel: the scatter's axes, the params table's filter. */
export function renderTools(ctx: CompareContext, view: PanelView): void {
  const { model } = ctx;
  if (view.name === "scatter") {
    const params = (model.get("available_params") ?? []).map((p) => ({ value: p, label: p }));
    const metrics = (model.get("available_metrics") ?? []).map((m) => ({ value: m, label: m }));
    view.tools.replaceChildren(
      selectField("Param (x)", params, model.get("scatter_param"), (value) => ctx.save("scatter_param", value)),
      selectField("Metric (y)", metrics, model.get("scatter_metric"), (value) => ctx.save("scatter_metric", value)),
    );
  } else if (view.name === "params") {
    view.tools.replaceChildren(
      checkboxField("Only params that differ", model.get("diff_only"), (value) => {
        ctx.save("diff_only", value);
        renderTable(ctx, view, model.get("panels")?.["params"]);
      }),
    );
  }
}

/** The params table; a click on a run's column selects it (shift or ctrl adds). */
export function renderTable(ctx: CompareContext, view: PanelView, payload: PanelPayload | undefined): void {
  const { model } = ctx;
  const table = payload?.table;
  if (table === undefined) {
    view.body.replaceChildren();
    view.setNote(payload?.message);
    view.section.dataset["state"] = "message";
    return;
  }
  view.setNote(summary(table));
  const element = paramsTableElement(table, {
    diffOnly: model.get("diff_only"),
    selected: new Set(model.get("selected_ids") ?? []),
    onToggleRun: (id, additive) => {
      const current = model.get("selected_ids") ?? [];
      let next: string[];
      if (additive) next = current.includes(id) ? current.filter((x) => x !== id) : [...current, id];
      else next = sameIds(current, [id]) ? [] : [id];
      ctx.setSelected(ctx.index.order.filter((x) => next.includes(x)));
    },
  });
  const scroller = el("div", "cb-table-scroll");
  scroller.append(element);
  view.body.replaceChildren(scroller);
  view.section.dataset["state"] = "rendered";
}
