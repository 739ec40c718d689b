// Protected aliases and gates in the registry panel: a lock and the reason on each
// protected alias, each alias's gates, the confirm step that a protected alias's move or
// removal waits on (then made with force=True, and kept as forced), and the gates that
// refused a move with the values that fail them. Every move is checked again in Python:
// what is drawn here only says what to expect.
import { formatTimestamp } from "./format";
import { button, type PanelContext } from "./registry_context";
import type { ActionError, AliasGuard } from "./registry_types";
import { h } from "./table_dom";

/** The guard of `alias` of `model`, if the panel shows that model (it knows no other's). */
export function guardOf(ctx: PanelContext, model: string, alias: string): AliasGuard | undefined {
  if (model !== ctx.model.get("model")) return undefined;
  return (ctx.model.get("alias_guards") ?? []).find((g) => g.alias === alias);
}

/** `protected by ana on box since …: "why"`. */
export function protectionText(guard: AliasGuard): string {
  const held = guard.protected;
  if (held === null) return "";
  const why = held.reason ? `: "${held.reason}"` : "";
  return `protected by ${held.user_id ?? "?"} on ${held.host ?? "?"} since ${formatTimestamp(held.timestamp)}${why}`;
}

const SVG = "http://www.w3.org/2000/svg";

function padlock(): SVGSVGElement {
  const icon = document.createElementNS(SVG, "svg");
  for (const [k, v] of Object.entries({ width: "10", height: "12", viewBox: "0 0 10 12", "aria-hidden": "true" })) icon.setAttribute(k, v);
  const shackle = document.createElementNS(SVG, "path");
  shackle.setAttribute("d", "M2.5 5.5V3.5a2.5 2.5 0 0 1 5 0v2");
  shackle.setAttribute("class", "cb-reg-lock-shackle");
  const body = document.createElementNS(SVG, "rect");
  for (const [k, v] of Object.entries({ x: "1", y: "5.5", width: "8", height: "6", rx: "1", class: "cb-reg-lock-body" })) body.setAttribute(k, v);
  icon.append(shackle, body);
  return icon;
}

/** The lock of a protected alias (its title says by whom and why). */
export function lock(guard: AliasGuard | undefined): HTMLElement | null {
  if (!guard?.protected) return null;
  return h("span", { class: "cb-reg-lock", title: `@${guard.alias} is ${protectionText(guard)}`, attrs: { role: "img", "aria-label": "protected" } }, [padlock()]);
}

function refusedForProtection(ctx: PanelContext): boolean {
  return (ctx.model.get("error")?.message ?? "").startsWith("ProtectedAliasError");
}

function ask(ctx: PanelContext, model: string, alias: string, version: string | null): void {
  const guard = guardOf(ctx, model, alias);
  ctx.pending = { model, alias, version, reason: guard ? protectionText(guard) : "protected" };
  ctx.redraw();
}

/**
 * Points `alias` at `version`. A protected alias first asks its user to confirm (the move
 * is then forced); one protected since the panel's last read is refused by Python, and
 * asks then. Resolves true once the move is made or waits on the confirmation.
 */
export async function moveAlias(ctx: PanelContext, model: string, alias: string, version: string): Promise<boolean> {
  if (guardOf(ctx, model, alias)?.protected) {
    ask(ctx, model, alias, version);
    return true;
  }
  const moved = await ctx.act("set_alias", { model, alias, version });
  if (!moved && refusedForProtection(ctx)) ask(ctx, model, alias, version);
  return moved;
}

/** Removes `alias`; a protected one asks first, as a move does. */
export async function removeAlias(ctx: PanelContext, model: string, alias: string): Promise<boolean> {
  if (guardOf(ctx, model, alias)?.protected) {
    ask(ctx, model, alias, null);
    return true;
  }
  const removed = await ctx.act("delete_alias", { model, alias });
  if (!removed && refusedForProtection(ctx)) ask(ctx, model, alias, null);
  return removed;
}

/** The confirm step of a protected alias's move or removal; null when none waits. */
export function confirmBox(ctx: PanelContext): HTMLElement | null {
  const pending = ctx.pending;
  if (pending === null) return null;
  const what = pending.version === null ? `Remove @${pending.alias}` : `Move @${pending.alias} to v${pending.version}`;
  const box = h("div", { class: "cb-reg-confirm", attrs: { role: "alertdialog", "aria-label": `Confirm: ${what}` } }, [
    h("strong", { text: `@${pending.alias} is protected.` }),
    h("span", { class: "cb-reg-confirm-reason", text: ` It is ${pending.reason}. ` }),
    h("span", { text: `${what} anyway? The alias history keeps it as forced, with who and when.` }),
  ]);
  const go = button(`${what} (forced)`, "Make the change with force=True", () => {
    ctx.pending = null;
    if (pending.version === null) void ctx.act("delete_alias", { model: pending.model, alias: pending.alias, force: true });
    else void ctx.act("set_alias", { model: pending.model, alias: pending.alias, version: pending.version, force: true });
  }, "primary danger cb-reg-confirm-go");
  const cancel = button("Cancel", "Leave the alias where it is", () => {
    ctx.pending = null;
    ctx.redraw();
  }, "cb-reg-confirm-cancel");
  box.append(h("span", { class: "cb-reg-confirm-actions" }, [go, cancel]));
  return box;
}

/** The gates that refused a move, each with the values that fail it. */
export function gateFailures(error: ActionError | null | undefined): HTMLElement | null {
  const failures = error?.failures ?? [];
  if (failures.length === 0) return null;
  const list = h("ul", { class: "cb-reg-gate-failures" });
  for (const failure of failures) {
    list.append(
      h("li", { class: "cb-reg-gate-failure", attrs: { "data-gate": failure.gate, "data-alias": failure.alias } }, [
        h("span", { class: "cb-reg-gate-name", text: `@${failure.alias} gate ${failure.gate}` }),
        h("span", { text: `: ${failure.why}` }),
      ]),
    );
  }
  return list;
}

/** Each alias of the shown model that is set, protected or gated: its version, lock, gates. */
export function guardsSection(ctx: PanelContext): HTMLElement | null {
  const guards = ctx.model.get("alias_guards") ?? [];
  if (guards.length === 0) return null;
  const section = h("section", { class: "cb-reg-guards" }, [h("h4", { text: "Aliases, protection and gates" })]);
  const list = h("ul", { class: "cb-reg-guard-list" });
  for (const guard of guards) {
    const item = h("li", { class: "cb-reg-guard", attrs: { "data-alias": guard.alias, "data-protected": String(guard.protected !== null) } }, [
      h("span", { class: "cb-reg-guard-alias", text: `@${guard.alias}` }),
      h("span", { class: "cb-reg-muted", text: guard.version === null ? " not set" : ` → v${guard.version}` }),
    ]);
    const locked = lock(guard);
    if (locked) {
      item.append(locked, h("span", { class: "cb-reg-guard-reason", text: guard.protected?.reason ?? "protected", title: protectionText(guard) }));
    }
    for (const gate of guard.gates) {
      const text = gate.python ? "a Python check of this kernel" : (gate.filter ?? "a stored gate with no readable filter");
      const title = gate.allow_force ? "force=True passes it" : "force=True does not pass it";
      item.append(h("span", { class: "cb-reg-gate", title, attrs: { "data-gate": gate.gate } }, [h("span", { class: "cb-reg-gate-name", text: gate.gate }), h("code", { text })]));
    }
    list.append(item);
  }
  section.append(list);
  return section;
}
