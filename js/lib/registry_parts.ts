// The registry panel's parts around the versions table: the list of models, the shown
// model's header (description, aliases, tags), the column chooser, the pager, the
// selection bar, the register form for a linked run table, and the alias history.
import { formatRelativeTime, formatTimestamp } from "./format";
import { button, closeEditor, editor, openEditor, tagChips, type PanelContext } from "./registry_context";
import { describeMove, timeline, versionColour } from "./registry_timeline";
import type { ModelSummary } from "./registry_types";
import { h } from "./table_dom";

const MODEL_FILTER_FROM = 8;

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** The models, one button each; the shown one is pressed. */
export function modelList(ctx: PanelContext, models: readonly ModelSummary[], shown: string): HTMLElement {
  const list = h("nav", { class: "cb-reg-models", attrs: { "aria-label": "Registered models" } });
  if (models.length === 0) {
    list.append(h("p", { class: "cb-reg-muted", text: "No registered models yet." }));
    return list;
  }
  // Many models: a box that narrows the list by name (the shown one always stays).
  if (models.length > MODEL_FILTER_FROM) {
    const search = h("input", { class: "cb-reg-input cb-reg-model-filter", attrs: { type: "search", placeholder: "Filter models", "aria-label": "Filter models" } });
    search.value = ctx.modelFilter;
    search.addEventListener("input", () => {
      ctx.modelFilter = search.value;
      const needle = search.value.trim().toLowerCase();
      for (const node of list.querySelectorAll<HTMLElement>(".cb-reg-model")) {
        const name = node.dataset.model ?? "";
        node.hidden = needle !== "" && name !== shown && !name.toLowerCase().includes(needle);
      }
    });
    list.append(search);
  }
  const needle = ctx.modelFilter.trim().toLowerCase();
  for (const m of models) {
    const item = h("button", { class: "cb-reg-model", attrs: { type: "button", "data-model": m.name, "aria-pressed": String(m.name === shown) } });
    item.append(h("span", { class: "cb-reg-model-name", text: m.name }));
    const meta = h("span", { class: "cb-reg-model-meta", text: `${plural(m.version_count, "version")} · ${formatRelativeTime(m.last_updated_time)}` });
    item.append(meta);
    const chips = h("span", { class: "cb-reg-model-chips" });
    for (const [alias, version] of Object.entries(m.aliases)) {
      const chip = h("span", { class: "cb-reg-alias small", text: `@${alias} v${version}` });
      chip.style.setProperty("--cb-reg-version", versionColour(Number(version)));
      chips.append(chip);
    }
    for (const stage of m.stages) chips.append(h("span", { class: "cb-reg-stage", text: stage, attrs: { "data-stage": stage } }));
    if (chips.childElementCount > 0) item.append(chips);
    item.hidden = needle !== "" && m.name !== shown && !m.name.toLowerCase().includes(needle);
    item.addEventListener("click", () => {
      if (m.name !== ctx.model.get("model")) {
        closeEditor(ctx);
        ctx.save("model", m.name);
      }
    });
    list.append(item);
  }
  return list;
}

/** Name, description (editable), aliases and tags of the shown model. */
export function modelHeader(ctx: PanelContext, m: ModelSummary): HTMLElement {
  const header = h("header", { class: "cb-reg-model-header" });
  const title = h("div", { class: "cb-reg-title" }, [
    h("h3", { class: "cb-reg-model-title", text: m.name }),
    h("span", {
      class: "cb-reg-muted",
      text: `${plural(m.version_count, "version")} · created ${formatRelativeTime(m.creation_time)}${m.user_id ? ` by ${m.user_id}` : ""}`,
      title: formatTimestamp(m.creation_time),
    }),
  ]);
  header.append(title);
  if (ctx.edit.target === "desc:model") {
    header.append(
      editor(ctx, {
        label: `Description of ${m.name}`,
        multiline: true,
        onSubmit: (text) => ctx.act("set_description", { model: m.name, version: null, description: text.trim() || null }),
      }),
    );
  } else {
    const desc = h("p", { class: m.description ? "cb-reg-model-desc" : "cb-reg-model-desc empty", text: m.description ?? "No description. Click to add one." });
    desc.tabIndex = 0;
    desc.title = "Edit the description";
    const open = (): void => openEditor(ctx, "desc:model", m.description ?? "");
    desc.addEventListener("click", open);
    desc.addEventListener("keydown", (event) => {
      if ((event as KeyboardEvent).key === "Enter") open();
    });
    header.append(desc);
  }
  const tags = Object.entries(m.tags).map(([key, value]) => ({ key, value }));
  header.append(h("div", { class: "cb-reg-model-tags" }, [h("span", { class: "cb-reg-label", text: "Tags" }), tagChips(ctx, m.name, null, tags)]));
  return header;
}

/** Which source-run metrics and params are columns. */
export function columnChooser(ctx: PanelContext): HTMLElement {
  const details = h("details", { class: "cb-reg-columns" });
  details.append(h("summary", { text: "Columns" }));
  const groups: [string, "metric_keys" | "param_keys", string[]][] = [
    ["Metrics", "metric_keys", ctx.model.get("available_metrics") ?? []],
    ["Params", "param_keys", ctx.model.get("available_params") ?? []],
  ];
  for (const [label, trait, keys] of groups) {
    const shown = new Set(ctx.model.get(trait) ?? []);
    const group = h("fieldset", {}, [h("legend", { text: label })]);
    if (keys.length === 0) group.append(h("span", { class: "cb-reg-muted", text: "none logged" }));
    for (const key of keys) {
      const box = h("input", { attrs: { type: "checkbox" } });
      box.checked = shown.has(key);
      box.addEventListener("change", () => {
        const next = keys.filter((k) => (k === key ? box.checked : shown.has(k)));
        ctx.save(trait, next);
      });
      group.append(h("label", { class: "cb-reg-check-label" }, [box, document.createTextNode(key)]));
    }
    details.append(group);
  }
  return details;
}

export function pager(ctx: PanelContext): HTMLElement | null {
  const total = ctx.model.get("version_total") ?? 0;
  const size = ctx.model.get("page_size") ?? 25;
  const page = ctx.model.get("page") ?? 0;
  if (total <= size) return null;
  const pages = Math.ceil(total / size);
  const first = page * size + 1;
  const last = Math.min(total, (page + 1) * size);
  const prev = button("‹ Newer", "Newer versions", () => ctx.save("page", page - 1));
  const next = button("Older ›", "Older versions", () => ctx.save("page", page + 1));
  prev.disabled = page <= 0;
  next.disabled = page >= pages - 1;
  return h("div", { class: "cb-reg-pager" }, [prev, h("span", { text: `${first}–${last} of ${total}` }), next]);
}

/** What is selected, and what it does; "Clear" drops it. */
export function selectionBar(ctx: PanelContext): HTMLElement | null {
  const keys = ctx.model.get("selected_versions") ?? [];
  if (keys.length === 0) return null;
  const runs = (ctx.model.get("selected_ids") ?? []).length;
  const shown = keys.map((k) => {
    const at = k.lastIndexOf("/");
    return `${k.slice(0, at)} v${k.slice(at + 1)}`;
  });
  let what = `Selected: ${shown.join(", ")}`;
  if (keys.length >= 2 && runs > 0) {
    what += ctx.model.get("linked") ? ` — their ${plural(runs, "source run")} are selected in the run table and charted` : ` — ${plural(runs, "source run")} (compare(panel) charts them)`;
  }
  return h("div", { class: "cb-reg-selection" }, [
    h("span", { text: what }),
    button("Clear", "Clear the selection", () => ctx.save("selected_versions", [])),
  ]);
}

/** Registers the runs selected in a linked run table as new versions of a model. */
export function registerForm(ctx: PanelContext, models: readonly ModelSummary[], shown: string): HTMLElement {
  const section = h("section", { class: "cb-reg-register" });
  section.append(h("h4", { text: "Register runs" }));
  if (!ctx.model.get("linked")) {
    section.append(h("p", { class: "cb-reg-muted", text: "Show a run table beside the panel (dashboard(), or registry_panel(table=...)) to register the runs selected in it." }));
    return section;
  }
  const runs = ctx.model.get("table_runs") ?? [];
  if (runs.length === 0) {
    section.append(h("p", { class: "cb-reg-muted", text: "Select runs that logged a model in the run table to register them here." }));
    return section;
  }
  const choices: { run_id: string; select: HTMLSelectElement | null }[] = [];
  const list = h("ul", { class: "cb-reg-register-runs" });
  for (const run of runs) {
    const item = h("li", { attrs: { "data-run-status": run.status ?? "", "data-run-id": run.run_id } }, [
      h("span", { class: "cb-reg-status-dot" }),
      h("span", { class: "cb-reg-run-name", text: run.run_name ?? run.run_id, title: run.run_id }),
    ]);
    if (run.registered.length > 0) {
      item.append(h("span", { class: "cb-reg-muted cb-reg-registered", text: ` already ${run.registered.join(", ")}` }));
    }
    if (run.models.length === 0) {
      item.append(h("span", { class: "cb-reg-muted", text: " no logged model" }));
      choices.push({ run_id: run.run_id, select: null });
    } else {
      const select = h("select", { class: "cb-reg-path", attrs: { "aria-label": `Model folder of ${run.run_name ?? run.run_id}` } });
      for (const path of run.models) select.append(h("option", { text: path === "" ? "(artifact root)" : path, attrs: { value: path } }));
      item.append(select);
      choices.push({ run_id: run.run_id, select });
    }
    list.append(item);
  }
  const name = h("input", { class: "cb-reg-input", attrs: { type: "text", "aria-label": "Registered model name", placeholder: "model name" } });
  name.value = ctx.edit.target === "register" ? ctx.edit.draft : shown;
  name.addEventListener("input", () => {
    ctx.edit.target = "register";
    ctx.edit.draft = name.value;
  });
  const listId = "cb-reg-model-names";
  const names = h("datalist", { attrs: { id: listId } });
  for (const m of models) names.append(h("option", { attrs: { value: m.name } }));
  name.setAttribute("list", listId);
  const withModel = choices.filter((c) => c.select !== null);
  const go = button(`Register ${plural(withModel.length, "run")}`, "Create a new version per run", () => {
    void ctx
      .act("register", { name: name.value.trim(), runs: withModel.map((c) => ({ run_id: c.run_id, path: c.select?.value ?? "" })) })
      .then((ok) => {
        if (ok && ctx.edit.target === "register") closeEditor(ctx);
      });
  }, "primary cb-reg-register-go");
  go.disabled = withModel.length === 0 || ctx.busy;
  section.append(list, h("div", { class: "cb-reg-register-row" }, [h("span", { class: "cb-reg-label", text: "as" }), name, names, go]));
  return section;
}

/** The alias history: a timeline, then every move, newest first. */
export function historySection(ctx: PanelContext, width: number): HTMLElement {
  const history = ctx.model.get("history") ?? [];
  const section = h("section", { class: "cb-reg-history" });
  section.append(h("h4", { text: "Alias history" }));
  if (history.length === 0) {
    section.append(h("p", { class: "cb-reg-muted", text: "No alias has been set on this model yet." }));
    return section;
  }
  section.append(timeline(history, Math.max(width, 320)));
  const list = h("ol", { class: "cb-reg-moves" });
  for (const move of [...history].reverse()) {
    const item = h("li", { text: describeMove(move), attrs: { "data-alias": move.alias, "data-forced": String(Boolean(move.forced)) } });
    if (move.forced) item.prepend(h("span", { class: "cb-reg-forced", text: "forced", title: move.overrode ?? "" }));
    list.append(item);
  }
  section.append(list);
  return section;
}
