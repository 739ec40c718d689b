// Two versions side by side: their source runs' params (only those that differ),
// metrics, the evaluation results recorded on each, a short lineage, and for each gated
// alias whether the version passes its gates now. "Move @alias here" makes the move as
// every other does: a protected alias asks to confirm, and Python checks the gates again.
import { formatNumber } from "./format";
import { button, type PanelContext } from "./registry_context";
import { guardOf, lock, moveAlias } from "./registry_guards";
import type { CompareSide, Comparison } from "./registry_types";
import { h } from "./table_dom";

function shown(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return formatNumber(value);
  return String(value);
}

function row(label: string, cells: (string | HTMLElement)[], attrs: Record<string, string> = {}, className = ""): HTMLTableRowElement {
  const tr = h("tr", { class: className, attrs });
  tr.append(h("th", { text: label, attrs: { scope: "row" } }));
  for (const cell of cells) tr.append(typeof cell === "string" ? h("td", { text: cell }) : h("td", {}, [cell]));
  return tr;
}

function group(label: string, span: number): HTMLTableRowElement {
  return h("tr", { class: "cb-reg-cmp-group" }, [h("th", { text: label, attrs: { colspan: String(span) } })]);
}

/** The aliases a move onto `side` may offer: its model's, set or only guarded. */
function aliasesOf(ctx: PanelContext, side: CompareSide): string[] {
  const model = (ctx.model.get("models") ?? []).find((m) => m.name === side.name);
  const guarded = side.name === ctx.model.get("model") ? (ctx.model.get("alias_guards") ?? []).map((g) => g.alias) : [];
  return [...new Set([...Object.keys(model?.aliases ?? {}), ...guarded, ...Object.keys(side.gate_checks)])].sort();
}

function gatesCell(side: CompareSide): HTMLElement {
  const box = h("div", { class: "cb-reg-cmp-gates" });
  const entries = Object.entries(side.gate_checks);
  if (entries.length === 0) box.append(h("span", { class: "cb-reg-muted", text: "no gates" }));
  for (const [alias, checks] of entries) {
    const failed = checks.filter((c) => c.why !== null);
    const line = h("div", { class: `cb-reg-cmp-gate ${failed.length > 0 ? "fails" : "passes"}`, attrs: { "data-alias": alias } });
    line.append(h("span", { class: "cb-reg-gate-name", text: `@${alias}` }));
    if (failed.length === 0) line.append(h("span", { text: ` passes ${checks.map((c) => c.gate).join(", ")}` }));
    for (const check of failed) line.append(h("span", { text: ` fails ${check.gate}: ${check.why ?? ""}` }));
    box.append(line);
  }
  return box;
}

function movesCell(ctx: PanelContext, side: CompareSide): HTMLElement {
  const box = h("div", { class: "cb-reg-cmp-moves" });
  for (const alias of aliasesOf(ctx, side)) {
    if (side.aliases.includes(alias)) continue;
    const failing = (side.gate_checks[alias] ?? []).filter((c) => c.why !== null).map((c) => c.gate);
    const title = failing.length > 0 ? `Its gates ${failing.join(", ")} fail now: the move will be refused` : `Point @${alias} at ${side.name} v${side.version}`;
    const go = button(`Move @${alias} here`, title, () => void moveAlias(ctx, side.name, alias, String(side.version)), `cb-reg-move-here${failing.length > 0 ? " fails" : ""}`);
    go.dataset.alias = alias;
    go.dataset.version = String(side.version);
    const locked = lock(guardOf(ctx, side.name, alias));
    if (locked) go.prepend(locked);
    go.disabled = ctx.busy;
    box.append(go);
  }
  if (box.childElementCount === 0) box.append(h("span", { class: "cb-reg-muted", text: "no other alias" }));
  return box;
}

/** The two versions of `comparison` side by side. */
export function compareSection(ctx: PanelContext, comparison: Comparison): HTMLElement {
  const sides = comparison.versions;
  const span = sides.length + 1;
  const section = h("section", { class: "cb-reg-compare" });
  section.append(h("h4", { text: `Side by side: ${sides.map((s) => `${s.name} v${s.version}`).join(" and ")}` }));
  const table = h("table", { class: "cb-reg-cmp" });
  const head = h("tr", {}, [h("th")]);
  for (const side of sides) head.append(h("th", { text: `${side.name} v${side.version}`, attrs: { "data-version": side.key } }));
  table.append(h("thead", {}, [head]));
  const body = h("tbody");
  body.append(row("stage", sides.map((s) => s.stage)));
  body.append(row("aliases", sides.map((s) => s.aliases.map((a) => `@${a}`).join(", ") || "—")));
  body.append(row("source run", sides.map((s) => s.run_name ?? s.run_id ?? "—")));
  const same = comparison.same_params;
  body.append(group(`Params that differ${same > 0 ? ` (${same} the same, not shown)` : ""}`, span));
  if (comparison.params.length === 0) body.append(h("tr", {}, [h("td", { class: "cb-reg-muted", text: "No param differs.", attrs: { colspan: String(span) } })]));
  for (const p of comparison.params) body.append(row(p.key, p.values.map(shown), { "data-key": p.key }, "cb-reg-cmp-param"));
  body.append(group("Metrics", span));
  for (const m of comparison.metrics) body.append(row(m.key, m.values.map(shown), { "data-key": m.key }, "cb-reg-cmp-metric"));
  if (sides.some((s) => s.evaluation !== null)) {
    body.append(group("Evaluation", span));
    body.append(row("summary", sides.map((s) => s.evaluation?.summary ?? "not evaluated"), {}, "cb-reg-cmp-eval"));
    const keys = [...new Set(sides.flatMap((s) => Object.keys(s.evaluation?.metrics ?? {})))].sort();
    for (const key of keys) body.append(row(key, sides.map((s) => shown(s.evaluation?.metrics[key])), { "data-key": key }, "cb-reg-cmp-eval-metric"));
  }
  body.append(group("Lineage", span));
  body.append(row("datasets", sides.map((s) => s.datasets.map((d) => `${d.name} (${d.context || "input"}) ${d.digest}`).join("; ") || "—")));
  body.append(row("git commit", sides.map((s) => s.git_commit ?? "—")));
  body.append(row("logged model", sides.map((s) => s.logged_model_id ?? "—")));
  body.append(group("Gates", span));
  body.append(row("now", sides.map(gatesCell)));
  body.append(row("move", sides.map((s) => movesCell(ctx, s)), {}, "cb-reg-cmp-actions"));
  table.append(body);
  section.append(h("div", { class: "cb-reg-scroll" }, [table]));
  return section;
}
