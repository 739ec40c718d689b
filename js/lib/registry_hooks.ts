// Hooks in the registry panel: the hooks that fire for the shown model (events, target
// with no secret, who added them), a version's failed deliveries as a badge on its row
// that opens their detail (hook, event, when, attempts, error), and Retry, which sends
// them again in Python (client.retry_hooks) and reloads the panel. Every text from the
// store (targets, errors) reaches the page as text, never as markup.
import { formatRelativeTime, formatTimestamp } from "./format";
import { button, type PanelContext } from "./registry_context";
import type { FailedDelivery, HookInfo } from "./registry_types";
import { h } from "./table_dom";

/** What a hook's line says besides its events and target: scope, signing, trust. */
export function hookNote(hook: HookInfo): string {
  const parts = [hook.every_model ? "every model" : "this model"];
  if (hook.signed) parts.push(hook.secret_env ? `signed ($${hook.secret_env})` : "signed");
  if (!hook.runs_here) parts.push("not run by this kernel (a command it does not trust)");
  return parts.join(" · ");
}

/** The tooltip of a version's badge: one line per failed delivery, newest first. */
export function failuresTitle(failed: readonly FailedDelivery[]): string {
  const lines = failed.map((f) => `${formatTimestamp(f.timestamp)} ${f.hook} (${f.event}): ${f.error}`);
  return `Failed hook deliveries (click for detail):\n${lines.join("\n")}`;
}

function failedOf(ctx: PanelContext, version: string): FailedDelivery[] {
  return ctx.model.get("failed_deliveries")?.[version] ?? [];
}

function failedCount(ctx: PanelContext): number {
  return Object.values(ctx.model.get("failed_deliveries") ?? {}).reduce((n, list) => n + list.length, 0);
}

async function retry(ctx: PanelContext, version: string | null): Promise<void> {
  const model = ctx.model.get("model") ?? "";
  const done = await ctx.act("retry_hooks", { model, version });
  // Python reloaded before it answered: close the detail once nothing is left in it.
  if (done && (ctx.deliveriesOpen === null || failedOf(ctx, ctx.deliveriesOpen).length === 0)) {
    ctx.deliveriesOpen = null;
    ctx.redraw();
  }
}

/** The badge of a version with failed deliveries ("2 failed"); it opens their detail. */
export function deliveriesBadge(ctx: PanelContext, version: string): HTMLElement | null {
  const failed = failedOf(ctx, version);
  if (failed.length === 0) return null;
  const badge = button(`${failed.length} failed`, failuresTitle(failed), () => {
    ctx.deliveriesOpen = ctx.deliveriesOpen === version ? null : version;
    ctx.redraw();
  }, "cb-reg-deliveries");
  badge.setAttribute("aria-expanded", String(ctx.deliveriesOpen === version));
  return badge;
}

/** The failed deliveries of the version whose badge is open, with Retry; else null. */
export function deliveriesDetail(ctx: PanelContext): HTMLElement | null {
  const version = ctx.deliveriesOpen;
  const failed = version === null ? [] : failedOf(ctx, version);
  if (version === null || failed.length === 0) return null;
  const section = h("section", { class: "cb-reg-delivery-detail", attrs: { "data-version": version, "aria-label": `Failed hook deliveries of version ${version}` } }, [
    h("h4", { text: `Failed hook deliveries of v${version}` }),
  ]);
  const table = h("table", { class: "cb-reg-delivery-table" });
  table.append(h("thead", {}, [h("tr", {}, ["Hook", "Event", "When", "Attempts", "Error"].map((t) => h("th", { text: t })))]));
  const body = h("tbody");
  for (const f of failed) {
    body.append(
      h("tr", { class: "cb-reg-delivery", attrs: { "data-delivery-id": f.delivery_id, "data-hook-id": f.hook_id } }, [
        h("td", { class: "cb-reg-delivery-hook", text: f.hook }),
        h("td", { text: f.event }),
        h("td", { text: formatRelativeTime(f.timestamp), title: formatTimestamp(f.timestamp) }),
        h("td", { class: "num", text: String(f.attempts) }),
        h("td", { class: "cb-reg-delivery-error", text: f.error }),
      ]),
    );
  }
  table.append(body);
  const plural = failed.length === 1 ? "it" : `all ${failed.length}`;
  const again = button("Retry", `Send ${plural} again now, with the same delivery ids (client.retry_hooks)`, () => void retry(ctx, version), "primary cb-reg-retry");
  again.disabled = ctx.busy;
  const close = button("Close", "Hide these deliveries", () => {
    ctx.deliveriesOpen = null;
    ctx.redraw();
  }, "cb-reg-delivery-close");
  section.append(table, h("span", { class: "cb-reg-delivery-actions" }, [again, close]));
  return section;
}

/** The hooks that fire for the shown model; null when there is none. */
export function hooksSection(ctx: PanelContext): HTMLElement | null {
  const hooks = ctx.model.get("hooks") ?? [];
  if (hooks.length === 0) return null;
  const section = h("section", { class: "cb-reg-hooks" }, [h("h4", { text: "Hooks" })]);
  const list = h("ul", { class: "cb-reg-hook-list" });
  for (const hook of hooks) {
    const added = `added by ${hook.user_id ?? "?"} ${formatRelativeTime(hook.creation_time)}`;
    list.append(
      h("li", { class: "cb-reg-hook", attrs: { "data-hook-id": hook.hook_id, "data-target-type": hook.target_type } }, [
        h("span", { class: "cb-reg-hook-events", text: hook.events.join(", ") }),
        h("span", { class: "cb-reg-muted", text: "→" }),
        h("code", { class: "cb-reg-hook-target", text: hook.target }),
        h("span", { class: "cb-reg-muted cb-reg-hook-note", text: hookNote(hook) }),
        h("span", { class: "cb-reg-muted", text: added, title: formatTimestamp(hook.creation_time) }),
      ]),
    );
  }
  section.append(list);
  const failed = failedCount(ctx);
  if (failed > 0) {
    const all = button(`Retry all failed (${failed})`, "Send every failed delivery of this model again now", () => void retry(ctx, null), "cb-reg-retry-all");
    all.disabled = ctx.busy;
    section.append(all);
  }
  return section;
}
