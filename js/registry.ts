// The registry panel: registered models, the versions of the one shown (with their
// source run's key metrics and params), aliases as chips, stages, tags, descriptions,
// and the alias history as a timeline. Before an alias move is trusted: each alias's lock
// and gates, the selected version's lineage as a graph, the last two selected side by side,
// a confirm step for a protected alias (the move is then forced), and the gates that
// refused a move with the values that fail them. The hooks that fire for the model, and
// a version's failed deliveries, opened from its badge and sent again with Retry.
//
// Python pushes the whole state in traits (see widgets/registry.py), so every view of the
// widget draws the same thing; actions (move or remove an alias, change a stage, edit a
// description or a tag, register the runs of a linked table) are requests that Python
// runs through the registry's API, and a failed one comes back as `error`, shown here.
// Each view also polls Python, which answers from a cheap signature of the registry, so
// changes made elsewhere (plain Python, another process) show up within `poll_ms`.
import type { RenderProps } from "@anywidget/types";
import { RpcClient } from "./lib/rpc";
import { compareSection } from "./lib/registry_compare";
import type { PanelContext } from "./lib/registry_context";
import { confirmBox, gateFailures, guardsSection } from "./lib/registry_guards";
import { deliveriesDetail, hooksSection } from "./lib/registry_hooks";
import { lineageSection } from "./lib/registry_lineage";
import { columnChooser, historySection, modelHeader, modelList, pager, registerForm, selectionBar } from "./lib/registry_parts";
import { comparisonOf, decodeVersions, lineageOf, type RegistryModel, type RegistryRpc } from "./lib/registry_types";
import { versionsTable } from "./lib/registry_versions";
import { styleElement } from "./lib/styles";
import { h } from "./lib/table_dom";
import rootCss from "./styles/registry.css";
import controlsCss from "./styles/registry_controls.css";
import historyCss from "./styles/registry_history.css";
import hooksCss from "./styles/registry_hooks.css";
import lineageCss from "./styles/registry_lineage.css";
import modelsCss from "./styles/registry_models.css";
import registerCss from "./styles/registry_register.css";
import versionsCss from "./styles/registry_versions.css";

export type { RegistryModel } from "./lib/registry_types";

// A poll waits this long for a kernel busy with a long cell before it is dropped.
const POLL_TIMEOUT_MS = 120_000;
const REDRAW_ON = [
  "model",
  "models",
  "versions",
  "version_total",
  "page",
  "page_size",
  "metric_keys",
  "param_keys",
  "version_filter",
  "filter_error",
  "available_metrics",
  "available_params",
  "history",
  "alias_guards",
  "lineage",
  "comparison",
  "hooks",
  "failed_deliveries",
  "selected_versions",
  "selected_ids",
  "table_runs",
  "linked",
  "error",
  "notice",
  "revision",
];

async function render({ model, el: host }: RenderProps<RegistryModel>): Promise<() => void> {
  const root = h("div", { class: "canvasback cb-registry" });
  host.append(styleElement(rootCss, controlsCss, modelsCss, versionsCss, historyCss, registerCss, lineageCss, hooksCss), root);
  // One RPC client per view (see js/run_table.ts): each view takes only its own replies.
  const client = new RpcClient<RegistryRpc>(model);
  let disposed = false;
  let archive = false;
  let localError: string | null = null;
  let dismissed: string | null = null;
  let scheduled = false;

  const ctx: PanelContext = {
    model,
    edit: { target: null, draft: "" },
    pending: null,
    lineage: { open: null, trainedOn: null, note: "" },
    busy: false,
    deliveriesOpen: null,
    modelFilter: "",
    act: async (kind, params) => {
      ctx.busy = true;
      localError = null;
      dismissed = null;
      schedule();
      try {
        await client.request(kind, params);
        return true;
      } catch (error) {
        localError = error instanceof Error ? error.message : String(error);
        return false;
      } finally {
        ctx.busy = false;
        schedule();
      }
    },
    ask: async (kind, params) => {
      localError = null;
      dismissed = null;
      try {
        return (await client.request(kind, params)).reply;
      } catch (error) {
        localError = error instanceof Error ? error.message : String(error);
        schedule();
        return null;
      }
    },
    save: (key, value) => {
      model.set(key, value);
      model.save_changes();
    },
    redraw: () => schedule(),
  };

  // The versions filter lives across redraws, so typing in it is never interrupted.
  const filterInput = h("input", {
    class: "cb-reg-input cb-reg-version-filter",
    title: "A search_model_versions filter: tags.validated = 'yes', version_number > 3, run_id = '...'",
    attrs: { type: "search", placeholder: "Filter versions: tags.validated = 'yes'", "aria-label": "Filter versions" },
  });
  filterInput.value = model.get("version_filter") ?? "";
  let filterTimer: ReturnType<typeof setTimeout> | undefined;
  const applyFilter = (): void => {
    if (filterTimer !== undefined) clearTimeout(filterTimer);
    filterTimer = undefined;
    if (filterInput.value !== (model.get("version_filter") ?? "")) {
      ctx.save("version_filter", filterInput.value); // Python starts the list afresh
    }
  };
  filterInput.addEventListener("input", () => {
    if (filterTimer !== undefined) clearTimeout(filterTimer);
    filterTimer = setTimeout(applyFilter, 500);
  });
  filterInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") applyFilter();
  });
  const onFilter = (): void => {
    const value = model.get("version_filter") ?? "";
    if (document.activeElement !== filterInput && filterInput.value !== value) filterInput.value = value;
  };

  const toggle = (key: string, add: boolean): void => {
    const current = model.get("selected_versions") ?? [];
    const next = add ? [...current.filter((k) => k !== key), key] : current.filter((k) => k !== key);
    ctx.save("selected_versions", next);
    schedule();
  };

  function errorBox(): HTMLElement | null {
    const error = model.get("error");
    const message = error?.message ?? localError;
    if (!message || message === dismissed) return null;
    // A move refused by gates lists each gate, under the message, with the values that fail it.
    const text = h("div", { class: "cb-reg-error-text" }, [h("span", { text: message }), message === error?.message ? gateFailures(error) : null]);
    const box = h("div", { class: "canvasback-error cb-reg-error", attrs: { role: "alert" } }, [text]);
    const close = h("button", { class: "cb-reg-button cb-reg-dismiss", text: "×", title: "Dismiss", attrs: { type: "button" } });
    close.addEventListener("click", () => {
      dismissed = message;
      schedule();
    });
    box.append(close);
    return box;
  }

  function toolbar(): HTMLElement {
    const refresh = h("button", { class: "cb-reg-button cb-reg-refresh", text: "↻", title: "Read the registry again", attrs: { type: "button", "aria-label": "Refresh" } });
    refresh.addEventListener("click", () => {
      refresh.disabled = true;
      client
        .request("refresh", {})
        .catch((error: unknown) => {
          localError = error instanceof Error ? error.message : String(error);
        })
        .finally(() => schedule());
    });
    const box = h("input", { attrs: { type: "checkbox" } });
    box.checked = archive;
    box.addEventListener("change", () => {
      archive = box.checked;
    });
    const archiveLabel = h("label", { class: "cb-reg-check-label", title: "When a version moves to Staging or Production, move the versions already there to Archived" }, [
      box,
      document.createTextNode("Archive others on promote"),
    ]);
    const notice = model.get("notice") ?? "";
    return h("div", { class: "cb-reg-toolbar" }, [
      h("span", { class: "cb-reg-heading", text: "Model registry" }),
      h("span", { class: `cb-reg-notice${ctx.busy ? " busy" : ""}`, text: ctx.busy ? "Working…" : notice, attrs: { "aria-live": "polite" } }),
      archiveLabel,
      refresh,
    ]);
  }

  function draw(): void {
    const focused = document.activeElement === filterInput;
    const [start, end] = [filterInput.selectionStart, filterInput.selectionEnd];
    drawAll();
    if (focused && filterInput.isConnected) {
      filterInput.focus();
      filterInput.setSelectionRange(start, end);
    }
  }

  function drawAll(): void {
    const models = model.get("models") ?? [];
    const shown = model.get("model") ?? "";
    const current = models.find((m) => m.name === shown);
    const main = h("div", { class: "cb-reg-main" });
    const layout = h("div", { class: "cb-reg-layout" }, [modelList(ctx, models, shown), main]);
    root.replaceChildren(...[toolbar(), errorBox(), confirmBox(ctx), layout].filter((n): n is HTMLElement => n !== null));
    root.dataset.revision = String(model.get("revision") ?? 0);
    root.dataset.model = shown;
    if (current === undefined) {
      main.append(h("p", { class: "cb-reg-muted", text: "Register a model (register_model, log_model(registered_model_name=...), or from a run table here) and it shows up." }));
      main.append(registerForm(ctx, models, shown));
      return;
    }
    main.append(modelHeader(ctx, current));
    const guards = guardsSection(ctx);
    if (guards) main.append(guards);
    const hooks = hooksSection(ctx);
    if (hooks) main.append(hooks);
    const rows = decodeVersions(model.get("versions"));
    const available = new Set(model.get("available_metrics") ?? []);
    const availableParams = new Set(model.get("available_params") ?? []);
    const metrics = (model.get("metric_keys") ?? []).filter((k) => available.has(k));
    const params = (model.get("param_keys") ?? []).filter((k) => availableParams.has(k));
    const bar = h("div", { class: "cb-reg-versions-bar" }, [h("h4", { text: "Versions" }), filterInput, columnChooser(ctx)]);
    const page = pager(ctx);
    if (page) bar.append(page);
    main.append(bar);
    const filterError = model.get("filter_error") ?? "";
    if (filterError) main.append(h("div", { class: "canvasback-error cb-reg-filter-error", text: filterError }));
    if (rows.length === 0 && (model.get("version_filter") ?? "").trim()) {
      main.append(h("p", { class: "cb-reg-muted", text: "No version of this model matches the filter." }));
    }
    const selection = selectionBar(ctx);
    if (selection) main.append(selection);
    const scroller = h("div", { class: "cb-reg-scroll" }, [versionsTable(ctx, shown, rows, { metrics, params, archive: () => archive, onToggle: toggle })]);
    main.append(scroller);
    const deliveries = deliveriesDetail(ctx);
    if (deliveries) main.append(deliveries);
    const lineage = lineageOf(model.get("lineage"));
    if (lineage) main.append(lineageSection(ctx, lineage));
    const comparison = comparisonOf(model.get("comparison"));
    if (comparison) main.append(compareSection(ctx, comparison));
    main.append(historySection(ctx, (main.clientWidth || 680) - 8));
    main.append(registerForm(ctx, models, shown));
  }

  function schedule(): void {
    if (scheduled || disposed) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      if (!disposed) draw();
    });
  }

  // Ask Python, now and then, whether the registry changed; one poll in flight at most,
  // so a busy kernel gets no pile of them.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const poll = async (): Promise<void> => {
    timer = undefined;
    if (disposed) return;
    const every = model.get("poll_ms") ?? 0;
    if (every <= 0) return;
    if (root.isConnected && document.visibilityState !== "hidden") {
      try {
        await client.request("poll", {}, { timeoutMs: POLL_TIMEOUT_MS });
      } catch {
        // A closed widget or a kernel gone: the next poll tries again, or cleanup ends it.
      }
    }
    if (!disposed) timer = setTimeout(() => void poll(), every);
  };
  const onPollMs = (): void => {
    if (timer === undefined) void poll();
  };

  for (const trait of REDRAW_ON) model.on(`change:${trait}`, schedule);
  model.on("change:poll_ms", onPollMs);
  model.on("change:version_filter", onFilter);
  draw();
  timer = setTimeout(() => void poll(), model.get("poll_ms") ?? 0);

  return () => {
    disposed = true;
    if (timer !== undefined) clearTimeout(timer);
    client.dispose();
    for (const trait of REDRAW_ON) model.off(`change:${trait}`, schedule);
    model.off("change:poll_ms", onPollMs);
    model.off("change:version_filter", onFilter);
    if (filterTimer !== undefined) clearTimeout(filterTimer);
    root.remove();
  };
}

export default { render };
