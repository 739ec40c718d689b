// The versions table of the registry panel: one row per version (newest first) with its
// stage, aliases as chips, source run and its key metrics and params, tags and
// description. A row's checkbox selects it; an alias chip can be removed (×), dragged
// onto another version's row to move it there, or given anew with "+ alias". A protected
// alias shows a lock, and its move or removal asks to confirm first (registry_guards.ts);
// a version with failed hook deliveries shows how many, a badge that opens them
// (registry_hooks.ts).
import { formatNumber, formatRelativeTime, formatTimestamp } from "./format";
import { button, editor, openEditor, tagChips, type PanelContext } from "./registry_context";
import { guardOf, lock, moveAlias, removeAlias } from "./registry_guards";
import { deliveriesBadge } from "./registry_hooks";
import { versionColour } from "./registry_timeline";
import { versionKey, type VersionRow } from "./registry_types";
import { h } from "./table_dom";

const ALIAS_MIME = "application/x-canvasback-alias";

function cellValue(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number" || typeof value === "bigint") return formatNumber(value);
  return String(value);
}

function aliasChip(ctx: PanelContext, model: string, alias: string, version: number): HTMLElement {
  const chip = h("span", {
    class: "cb-reg-alias",
    title: `models:/${model}@${alias} → version ${version}; drag onto another version to move it`,
    attrs: { draggable: "true", "data-alias": alias },
  });
  chip.style.setProperty("--cb-reg-version", versionColour(version));
  const locked = lock(guardOf(ctx, model, alias));
  if (locked) {
    chip.classList.add("protected");
    chip.append(locked);
  }
  chip.append(h("span", { text: `@${alias}` }));
  chip.append(button("×", `Remove @${alias}`, () => void removeAlias(ctx, model, alias), "cb-reg-chip-x"));
  chip.addEventListener("dragstart", (event) => {
    event.dataTransfer?.setData(ALIAS_MIME, alias);
    event.dataTransfer?.setData("text/plain", `@${alias}`);
    if (event.dataTransfer) event.dataTransfer.effectAllowed = "move";
  });
  return chip;
}

function stageSelect(ctx: PanelContext, model: string, row: VersionRow, archive: () => boolean): HTMLSelectElement {
  const select = h("select", { class: "cb-reg-stage-select", attrs: { "aria-label": `Stage of version ${row.version}` } });
  for (const stage of ctx.model.get("stages") ?? []) {
    const option = h("option", { text: stage, attrs: { value: stage } });
    option.selected = stage === row.current_stage;
    select.append(option);
  }
  select.dataset.stage = row.current_stage;
  select.addEventListener("click", (event) => event.stopPropagation());
  select.addEventListener("change", () => {
    const stage = select.value;
    const promote = stage === "Staging" || stage === "Production";
    void ctx
      .act("set_stage", { model, version: String(row.version), stage, archive_existing: promote && archive() })
      .then((ok) => {
        if (!ok) select.value = row.current_stage;
      });
  });
  return select;
}

function runCell(row: VersionRow): HTMLElement {
  if (!row.run_id) return h("span", { class: "cb-reg-muted", text: row.source ?? "—", title: row.source ?? "" });
  const status = row.run_status ?? "";
  const cell = h("span", { class: "cb-reg-run", title: `run ${row.run_id}\n${row.source ?? ""}`, attrs: { "data-run-status": status } }, [
    h("span", { class: "cb-reg-status-dot", attrs: { "aria-label": status } }),
    h("span", { class: "cb-reg-run-name", text: row.run_name ?? row.run_id.slice(0, 8) }),
  ]);
  if (row.run_lifecycle === "deleted") cell.append(h("span", { class: "cb-reg-muted", text: " (deleted)" }));
  return cell;
}

function descriptionCell(ctx: PanelContext, model: string, row: VersionRow): HTMLElement {
  const target = `desc:${row.version}`;
  if (ctx.edit.target === target) {
    return editor(ctx, {
      label: `Description of version ${row.version}`,
      multiline: true,
      onSubmit: (text) => ctx.act("set_description", { model, version: String(row.version), description: text.trim() || null }),
    });
  }
  const text = h("span", { class: row.description ? "cb-reg-desc" : "cb-reg-desc empty", text: row.description ?? "Add a description" });
  text.title = "Edit the description";
  text.tabIndex = 0;
  const open = (event: Event): void => {
    event.stopPropagation();
    openEditor(ctx, target, row.description ?? "");
  };
  text.addEventListener("click", open);
  text.addEventListener("keydown", (event) => {
    if ((event as KeyboardEvent).key === "Enter") open(event);
  });
  return text;
}

export interface VersionsOptions {
  metrics: string[];
  params: string[];
  archive: () => boolean;
  onToggle: (key: string, add: boolean) => void;
}

/** The versions table of `model` (rows newest first). */
export function versionsTable(ctx: PanelContext, model: string, rows: readonly VersionRow[], options: VersionsOptions): HTMLTableElement {
  const selected = new Set(ctx.model.get("selected_versions") ?? []);
  const modelAliases = Object.keys(ctx.model.get("models")?.find((m) => m.name === model)?.aliases ?? {});
  const table = h("table", { class: "cb-reg-versions" });
  const head = h("tr");
  const headers = ["", "Version", "Stage", "Aliases", "Source run", ...options.metrics, ...options.params.map((p) => `${p}`), "Tags", "Description", "Created"];
  headers.forEach((label, i) => {
    const th = h("th", { text: label });
    const metric = i >= 5 && i < 5 + options.metrics.length;
    const param = i >= 5 + options.metrics.length && i < 5 + options.metrics.length + options.params.length;
    if (metric) th.classList.add("num");
    if (metric || param) th.title = metric ? `metrics.${label} of the source run (latest value)` : `params.${label} of the source run`;
    head.append(th);
  });
  table.append(h("thead", {}, [head]));
  const body = h("tbody");
  for (const row of rows) {
    const key = versionKey(model, row.version);
    const tr = h("tr", { class: "cb-reg-version", attrs: { "data-version": String(row.version), "data-stage": row.current_stage } });
    if (selected.has(key)) tr.classList.add("selected");
    const box = h("input", { attrs: { type: "checkbox", "aria-label": `Select version ${row.version}` } });
    box.checked = selected.has(key);
    box.addEventListener("click", (event) => event.stopPropagation());
    box.addEventListener("change", () => options.onToggle(key, box.checked));
    tr.addEventListener("click", () => options.onToggle(key, !selected.has(key)));

    const aliases = h("td", { class: "cb-reg-aliases" });
    for (const alias of row.aliases) aliases.append(aliasChip(ctx, model, alias, row.version));
    const aliasTarget = `alias:${row.version}`;
    if (ctx.edit.target === aliasTarget) {
      aliases.append(
        editor(ctx, {
          label: `Alias for version ${row.version}`,
          placeholder: "champion",
          suggestions: modelAliases.filter((a) => !row.aliases.includes(a)),
          onSubmit: (alias) => moveAlias(ctx, model, alias.trim().replace(/^@/, ""), String(row.version)),
        }),
      );
    } else {
      aliases.append(button("+ alias", `Point an alias at version ${row.version} (moves it from where it is)`, () => openEditor(ctx, aliasTarget, ""), "cb-reg-add"));
    }
    // Dropping an alias chip here moves the alias to this version.
    tr.addEventListener("dragover", (event) => {
      if (event.dataTransfer?.types.includes(ALIAS_MIME)) {
        event.preventDefault();
        tr.classList.add("drop-target");
      }
    });
    tr.addEventListener("dragleave", () => tr.classList.remove("drop-target"));
    tr.addEventListener("drop", (event) => {
      tr.classList.remove("drop-target");
      const alias = event.dataTransfer?.getData(ALIAS_MIME);
      if (!alias || row.aliases.includes(alias)) return;
      event.preventDefault();
      void moveAlias(ctx, model, alias, String(row.version));
    });

    const vnum = h("td", { class: "cb-reg-vnum" }, [h("span", { class: "cb-reg-vbadge", text: `v${row.version}`, title: `models:/${model}/${row.version}` })]);
    const badge = deliveriesBadge(ctx, String(row.version));
    if (badge) vnum.append(badge);
    const cells: (HTMLElement | string)[] = [
      h("td", { class: "cb-reg-check" }, [box]),
      vnum,
      h("td", {}, [stageSelect(ctx, model, row, options.archive)]),
      aliases,
      h("td", {}, [runCell(row)]),
    ];
    for (const key of options.metrics) cells.push(h("td", { class: "num", text: cellValue(row[`metrics.${key}`]) }));
    for (const key of options.params) cells.push(h("td", { class: "param", text: cellValue(row[`params.${key}`]) }));
    const tags = h("td", {}, [tagChips(ctx, model, String(row.version), row.tags)]);
    cells.push(tags, h("td", { class: "cb-reg-desc-cell" }, [descriptionCell(ctx, model, row)]));
    cells.push(h("td", { class: "cb-reg-muted", text: formatRelativeTime(row.creation_time), title: `${formatTimestamp(row.creation_time)} by ${row.user_id ?? "?"}` }));
    for (const cell of cells) tr.append(typeof cell === "string" ? h("td", { text: cell }) : cell);
    for (const td of [tags, aliases]) td.addEventListener("click", (event) => event.stopPropagation());
    body.append(tr);
  }
  table.append(body);
  return table;
}
