// What the registry panel's parts share: the model, the actions, and the one inline
// editor open at a time (a description, a new alias, a new tag), whose draft survives a
// redraw when Python pushes new state meanwhile.
import { h } from "./table_dom";
import type { Model, RegistryModel, RegistryRpc } from "./registry_types";

export type QueryKind = "dataset_versions" | "open_run";
export type ActionKind = Exclude<keyof RegistryRpc, "refresh" | "poll" | QueryKind>;

export interface EditState {
  /** e.g. "desc:model", "desc:3", "alias:3", "tag:model", "tag:3"; null: none open. */
  target: string | null;
  draft: string;
}

/** An alias move or removal that waits for its user to confirm it (a protected alias). */
export interface PendingForce {
  model: string;
  alias: string;
  /** The target version; null: remove the alias. */
  version: string | null;
  reason: string;
}

/** This view's own state of the lineage graph: the node opened, what it fetched. */
export interface LineageView {
  /** e.g. "run", "dataset:<digest>:<context>", "version", "alias:<name>", "model". */
  open: string | null;
  trainedOn: { digest: string; rows: RegistryRpc["dataset_versions"]["reply"]["versions"] } | null;
  note: string;
}

export interface PanelContext {
  model: Model;
  edit: EditState;
  pending: PendingForce | null;
  lineage: LineageView;
  busy: boolean;
  /** The version whose failed hook deliveries this view shows in detail; null: none. */
  deliveriesOpen: string | null;
  /** Text the model list is narrowed to (this view's own). */
  modelFilter: string;
  /** Runs an action in Python; resolves true on success (errors show in the panel). */
  act<K extends ActionKind>(kind: K, params: RegistryRpc[K]["request"]): Promise<boolean>;
  /** Asks Python something (no store write); null when it failed (the error shows). */
  ask<K extends QueryKind>(kind: K, params: RegistryRpc[K]["request"]): Promise<RegistryRpc[K]["reply"] | null>;
  save<K extends keyof RegistryModel>(key: K, value: RegistryModel[K]): void;
  redraw(): void;
}

export function openEditor(ctx: PanelContext, target: string, draft: string): void {
  ctx.edit.target = target;
  ctx.edit.draft = draft;
  ctx.redraw();
}

export function closeEditor(ctx: PanelContext): void {
  ctx.edit.target = null;
  ctx.edit.draft = "";
  ctx.redraw();
}

export interface EditorOptions {
  multiline?: boolean;
  placeholder?: string;
  label: string;
  /** Values offered while typing (a datalist). */
  suggestions?: readonly string[];
  onSubmit: (value: string) => Promise<boolean>;
}

let datalistCounter = 0;

/** The inline editor of `ctx.edit.target`: Enter (Ctrl+Enter when multiline) saves, Escape cancels. */
export function editor(ctx: PanelContext, options: EditorOptions): HTMLElement {
  const input = options.multiline
    ? h("textarea", { class: "cb-reg-input", attrs: { rows: "3", "aria-label": options.label } })
    : h("input", { class: "cb-reg-input", attrs: { type: "text", "aria-label": options.label } });
  input.value = ctx.edit.draft;
  if (options.placeholder) input.placeholder = options.placeholder;
  const box = h("span", { class: `cb-reg-editor${options.multiline ? " multiline" : ""}` }, [input]);
  if (options.suggestions && options.suggestions.length > 0) {
    datalistCounter += 1;
    const id = `cb-reg-list-${datalistCounter}`;
    const list = h("datalist", { attrs: { id } });
    for (const value of options.suggestions) list.append(h("option", { attrs: { value } }));
    input.setAttribute("list", id);
    box.append(list);
  }
  const submit = async (): Promise<void> => {
    if (await options.onSubmit(input.value)) closeEditor(ctx);
  };
  const save = h("button", { class: "cb-reg-button primary", text: "Save", attrs: { type: "button" } });
  const cancel = h("button", { class: "cb-reg-button", text: "Cancel", attrs: { type: "button" } });
  save.addEventListener("click", () => void submit());
  cancel.addEventListener("click", () => closeEditor(ctx));
  input.addEventListener("input", () => {
    ctx.edit.draft = input.value;
  });
  input.addEventListener("keydown", (event) => {
    const ke = event as KeyboardEvent;
    if (ke.key === "Escape") {
      ke.preventDefault();
      closeEditor(ctx);
    } else if (ke.key === "Enter" && (!options.multiline || ke.ctrlKey || ke.metaKey)) {
      ke.preventDefault();
      void submit();
    }
  });
  box.append(save, cancel);
  // Focus once the box is in the page (after the redraw that made it).
  queueMicrotask(() => {
    if (input.isConnected && document.activeElement !== input) {
      input.focus();
      const end = input.value.length;
      input.setSelectionRange(end, end);
    }
  });
  return box;
}

/** A small button. */
export function button(text: string, title: string, onClick: () => void, className = ""): HTMLButtonElement {
  const node = h("button", { class: `cb-reg-button ${className}`.trim(), text, title, attrs: { type: "button" } });
  node.addEventListener("click", (event) => {
    event.stopPropagation();
    onClick();
  });
  return node;
}

/** Tags as chips with a remove button each, and "+ tag" opening a key=value editor. */
export function tagChips(ctx: PanelContext, model: string, version: string | null, tags: readonly { key: string; value: string }[]): HTMLElement {
  const box = h("span", { class: "cb-reg-tags" });
  for (const tag of tags) {
    const chip = h("span", { class: "cb-reg-tag", title: `${tag.key}=${tag.value}` }, [
      h("span", { class: "cb-reg-tag-key", text: tag.key }),
      h("span", { class: "cb-reg-tag-value", text: tag.value }),
    ]);
    chip.append(
      button("×", `Remove tag ${tag.key}`, () => void ctx.act("set_tag", { model, version, key: tag.key, value: null }), "cb-reg-chip-x"),
    );
    box.append(chip);
  }
  const target = `tag:${version ?? "model"}`;
  if (ctx.edit.target === target) {
    box.append(
      editor(ctx, {
        label: "New tag as key=value",
        placeholder: "key=value",
        onSubmit: async (text) => {
          const at = text.indexOf("=");
          const key = (at < 0 ? text : text.slice(0, at)).trim();
          const value = at < 0 ? "" : text.slice(at + 1).trim();
          return ctx.act("set_tag", { model, version, key, value });
        },
      }),
    );
  } else {
    box.append(button("+ tag", "Add a tag", () => openEditor(ctx, target, ""), "cb-reg-add"));
  }
  return box;
}
