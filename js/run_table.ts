// The run table front end: a virtual-scrolling view over the runs Python filters and
// sorts. Rows arrive a page at a time as Arrow IPC through the typed RPC; small state
// (filter, sort, columns, selection) lives in synced traits.
import type { AnyModel, RenderProps } from "@anywidget/types";
import { decodeTable, tableRows } from "./lib/arrow";
import { RpcClient, type MessageModel } from "./lib/rpc";
import { h } from "./lib/table_dom";
import { DetailPanel, SPARK_POINTS, historiesByKey, renderDetail } from "./lib/table_detail";
import { rangeFilter, valueFilter, withFilter, withoutFilter } from "./lib/table_filters";
import { attachColumnTools, moveColumn } from "./lib/table_columns";
import { columnWidth, describeColumn } from "./lib/table_format";
import { copyText, keyAction, scrollToShow } from "./lib/table_keys";
import { makeRow } from "./lib/table_rows";
import { loadGroups } from "./lib/table_groups";
import { TableHeader } from "./lib/table_header";
import { PageCache, firstSort, nextSort, visibleRange } from "./lib/table_model";
import { applyClick, headerCheck } from "./lib/table_selection";
import { Toolbar } from "./lib/table_toolbar";
import type { ColumnInfo, RunTableModel, TableRpc } from "./lib/table_types";
import { styleElement } from "./lib/styles";
import rootCss from "./styles/run_table.css";
import detailCss from "./styles/table_detail.css";
import groupsCss from "./styles/table_groups.css";
import headerCss from "./styles/table_header.css";
import rowsCss from "./styles/table_rows.css";
import toolbarCss from "./styles/table_toolbar.css";

export type { RunTableModel } from "./lib/table_types";

type Model = AnyModel<RunTableModel>;

const ROW_HEIGHT = 26;
const PAGE_SIZE = 100;
const MAX_IN_FLIGHT = 3;
const SELECT_WIDTH = 28;
const OPEN_WIDTH = 26;
const SUMMARY_DELAY_MS = 60;

class RunTableView {
  readonly #model: Model;
  readonly #rpc: RpcClient<TableRpc>;
  readonly #root: HTMLDivElement;
  readonly #toolbar: Toolbar;
  readonly #scroll: HTMLDivElement;
  readonly #grid: HTMLDivElement;
  readonly #body: HTMLDivElement;
  readonly #groups: HTMLDivElement;
  readonly #detail: DetailPanel;
  #header: TableHeader | null = null;
  #infos: ColumnInfo[] = [];
  #cache = new PageCache(PAGE_SIZE, 60);
  #rows = new Map<number, HTMLElement>();
  #selected = new Set<string>();
  #anchor: number | null = null;
  #cursor: number | null = null;
  #inFlight = 0;
  #frame = 0;
  #summaryTimer: ReturnType<typeof setTimeout> | undefined;
  #layoutVersion = 0;
  #disposed = false;
  readonly #off: (() => void)[] = [];

  constructor(model: Model, el: HTMLElement, rpc: RpcClient<TableRpc>) {
    this.#model = model;
    this.#rpc = rpc;
    this.#toolbar = new Toolbar({
      onFilter: (text) => this.#save("filter", text),
      onRemoveFilter: (index) => this.#save("summary_filters", withoutFilter(model.get("summary_filters"), index)),
      onColumns: (columns) => this.#save("columns", columns),
      onGroupBy: (column) => this.#save("group_by", column),
      onRefresh: () => void this.#refresh(),
      onClearSelection: () => this.#save("selected_ids", []),
    });
    this.#body = h("div", { class: "cb-rt-body", attrs: { role: "rowgroup" } });
    this.#grid = h("div", { class: "cb-rt-grid", attrs: { role: "grid" } });
    this.#groups = h("div", { class: "cb-rt-groups-host", attrs: { hidden: "" } });
    this.#scroll = h("div", { class: "cb-rt-scroll" }, [this.#grid, this.#groups]);
    this.#detail = new DetailPanel(() => this.#detail.close());
    this.#root = h("div", { class: "canvasback cb-rt" }, [this.#toolbar.el, this.#scroll, this.#detail.el]);
    const style = styleElement(rootCss, toolbarCss, headerCss, rowsCss, groupsCss, detailCss);
    el.append(style, this.#root);

    this.#listen("change:generation", () => this.#onRowsChanged());
    this.#listen("change:total", () => this.#onRowsChanged());
    this.#listen("change:columns", () => this.#layout());
    this.#listen("change:available_columns", () => this.#layout());
    this.#listen("change:sort", () => this.#header?.setSort(model.get("sort")));
    this.#listen("change:selected_ids", () => this.#onSelection());
    this.#listen("change:selected_shown", () => this.#onSelection());
    this.#listen("change:filter", () => this.#toolbar.setFilter(model.get("filter")));
    this.#listen("change:error", () => this.#toolbar.setError(model.get("error")));
    this.#listen("change:hint", () => this.#toolbar.setHint(model.get("hint")));
    this.#listen("change:summary_filters", () => this.#toolbar.setSummaryFilters(model.get("summary_filters")));
    this.#listen("change:group_by", () => this.#onGroupBy());
    this.#listen("change:height", () => this.#applyHeight());
    this.#listen("change:column_widths", () => this.#layout());

    this.#scroll.addEventListener("scroll", () => this.#schedule(), { passive: true });
    this.#body.addEventListener("click", (event) => this.#onBodyClick(event));
    this.#scroll.tabIndex = 0;
    this.#scroll.dataset["lmSuppressShortcuts"] = "true"; // JupyterLab leaves its keys to us
    this.#scroll.addEventListener("keydown", (event) => this.#onKey(event));
    this.#body.addEventListener("dblclick", (event) => this.#onBodyDoubleClick(event));
    const onDocument = (event: Event): void => {
      this.#toolbar.closePopups(event);
      if (event instanceof KeyboardEvent && event.key === "Escape" && this.#detail.open) this.#detail.close();
    };
    document.addEventListener("click", onDocument);
    document.addEventListener("keydown", onDocument);
    this.#off.push(() => {
      document.removeEventListener("click", onDocument);
      document.removeEventListener("keydown", onDocument);
    });

    this.#selected = new Set(model.get("selected_ids"));
    this.#toolbar.setFilter(model.get("filter"));
    this.#toolbar.setError(model.get("error"));
    this.#toolbar.setHint(model.get("hint") ?? "");
    this.#toolbar.setSummaryFilters(model.get("summary_filters"));
    this.#applyHeight();
    this.#cache.reset(model.get("generation"));
    this.#layout();
    this.#onGroupBy();
  }

  #listen(event: `change:${keyof RunTableModel & string}`, callback: () => void): void {
    this.#model.on(event, callback);
    this.#off.push(() => this.#model.off(event, callback));
  }

  #save<K extends keyof RunTableModel & string>(key: K, value: RunTableModel[K]): void {
    this.#model.set(key, value);
    this.#model.save_changes();
  }

  #applyHeight(): void {
    // A cap, not a size: a table of four runs takes four rows of room.
    this.#scroll.style.maxHeight = `${Math.max(this.#model.get("height"), 120)}px`;
  }

  // -- columns and header ------------------------------------------------------------
  #layout(): void {
    const available = this.#model.get("available_columns");
    this.#infos = this.#model.get("columns").map((name) => describeColumn(name, available));
    const resized = this.#model.get("column_widths") ?? {};
    const widths = this.#infos.map((info) => resized[info.name] ?? columnWidth(info));
    this.#applyWidths(widths);
    this.#root.style.setProperty("--cb-first-left", `${SELECT_WIDTH + OPEN_WIDTH}px`);
    this.#header = new TableHeader(this.#infos, widths, {
      onSort: (column, additive) => {
        const { descending } = firstSort(describeColumn(column, this.#model.get("available_columns")));
        this.#save("sort", nextSort(this.#model.get("sort"), column, additive, descending));
      },
      onSelectAll: () => void this.#selectAll(),
      onBrush: (column, lo, hi) => {
        const info = describeColumn(column, this.#model.get("available_columns"));
        this.#save("summary_filters", withFilter(this.#model.get("summary_filters"), rangeFilter(column, lo, hi, info.type)));
      },
      onValue: (column, value) => this.#save("summary_filters", withFilter(this.#model.get("summary_filters"), valueFilter(column, value))),
    });
    this.#header.setSort(this.#model.get("sort"));
    const names = this.#infos.map((info) => info.name);
    attachColumnTools(this.#header.el, new Map(names.map((name, i) => [name, widths[i] ?? 0])), {
      onResize: (column, width, done) => {
        widths[names.indexOf(column)] = width;
        this.#applyWidths(widths);
        if (done) this.#save("column_widths", { ...(this.#model.get("column_widths") ?? {}), [column]: width });
      },
      onMove: (from, to) => this.#save("columns", moveColumn(this.#model.get("columns"), from, to)),
    });
    this.#grid.replaceChildren(this.#header.el, this.#body);
    this.#toolbar.setColumns(available, this.#model.get("columns"), this.#model.get("group_by"));
    // Pages hold the columns they were asked for: new columns need new pages.
    this.#layoutVersion += 1;
    this.#cache.reset(this.#model.get("generation"));
    this.#clearRows();
    this.#onSelection();
    this.#schedule();
    this.#fetchSummaries();
    if (this.#model.get("group_by")) void this.#fetchGroups();
  }

  #applyWidths(widths: number[]): void {
    const template = [SELECT_WIDTH, OPEN_WIDTH, ...widths].map((w) => `${w}px`).join(" ");
    this.#grid.style.setProperty("--cb-cols", template);
    this.#grid.style.width = `${SELECT_WIDTH + OPEN_WIDTH + widths.reduce((a, b) => a + b, 0)}px`;
  }

  // -- keyboard ----------------------------------------------------------------------
  #onKey(event: KeyboardEvent): void {
    if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) return;
    const pageRows = Math.floor(this.#scroll.clientHeight / ROW_HEIGHT) - 2;
    const action = keyAction(event, this.#cursor, this.#model.get("total"), pageRows);
    if (action.kind === "none") return;
    event.preventDefault();
    event.stopPropagation(); // the notebook's own shortcuts (Space, Enter, C) stay out
    const runId = this.#cursor === null ? undefined : this.#cache.row(this.#cursor)?.["run_id"];
    if (action.kind === "move") this.#setCursor(action.index);
    else if (action.kind === "toggle" && runId !== undefined) {
      const ids = this.#model.get("selected_ids");
      const id = String(runId);
      this.#anchor = this.#cursor;
      this.#save("selected_ids", ids.includes(id) ? ids.filter((i) => i !== id) : [...ids, id]);
    } else if (action.kind === "open" && runId !== undefined) {
      const row = this.#rows.get(this.#cursor ?? -1);
      if (row !== undefined) void this.#openDetail(String(runId), row);
    } else if (action.kind === "copy") void this.#copy();
  }

  #setCursor(index: number): void {
    this.#cursor = index;
    const { scrollTop, clientHeight } = this.#scroll;
    this.#scroll.scrollTop = scrollToShow(index, ROW_HEIGHT, this.#body.offsetTop, this.#header?.el.offsetHeight ?? 0, scrollTop, clientHeight);
    for (const [i, row] of this.#rows) row.classList.toggle("cursor", i === index);
    this.#schedule();
  }

  async #copy(): Promise<void> {
    if (this.#model.get("selected_ids").length === 0) return;
    const { reply } = await this.#rpc.request("copy", { columns: this.#model.get("columns") });
    const copied = await copyText(reply.text);
    this.#root.dataset["copied"] = copied ? String(reply.count) : "failed";
  }

  // -- rows --------------------------------------------------------------------------
  #onRowsChanged(): void {
    const generation = this.#model.get("generation");
    if (generation !== this.#cache.generation) {
      this.#cache.reset(generation);
      this.#anchor = null;
      this.#cursor = null;
      this.#fetchSummaries();
      if (this.#model.get("group_by")) void this.#fetchGroups();
    }
    this.#clearRows();
    this.#onSelection();
    this.#schedule();
  }

  #clearRows(): void {
    for (const row of this.#rows.values()) row.remove();
    this.#rows.clear();
    this.#body.style.height = `${this.#model.get("total") * ROW_HEIGHT}px`;
  }

  #schedule(): void {
    if (this.#frame !== 0 || this.#disposed) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#paint();
    });
  }

  #range(): { start: number; end: number } {
    const top = this.#scroll.scrollTop - this.#body.offsetTop;
    return visibleRange(top, this.#scroll.clientHeight, ROW_HEIGHT, this.#model.get("total"));
  }

  #paint(): void {
    if (this.#disposed) return;
    const range = this.#range();
    for (const [index, row] of this.#rows) {
      if (index < range.start || index >= range.end) {
        row.remove();
        this.#rows.delete(index);
      }
    }
    for (let index = range.start; index < range.end; index += 1) {
      const data = this.#cache.row(index);
      const existing = this.#rows.get(index);
      if (existing !== undefined && (existing.dataset["loaded"] === "true" || data === undefined)) continue;
      const runId = data === undefined ? "" : String(data["run_id"]);
      const row = makeRow(index, data, this.#infos, this.#selected.has(runId), ROW_HEIGHT);
      row.classList.toggle("cursor", index === this.#cursor);
      if (existing !== undefined) existing.replaceWith(row);
      else this.#body.append(row);
      this.#rows.set(index, row);
    }
    this.#cache.touch(range);
    this.#request(range);
  }

  #request(range: { start: number; end: number }): void {
    const columns = this.#model.get("columns");
    const version = this.#layoutVersion;
    for (const page of this.#cache.missing(range)) {
      if (this.#inFlight >= MAX_IN_FLIGHT) return;
      const generation = this.#cache.request(page);
      this.#inFlight += 1;
      this.#rpc
        .request("page", { offset: page * PAGE_SIZE, limit: PAGE_SIZE, columns })
        .then(({ reply, buffers }) => {
          const stale = reply.generation !== generation || version !== this.#layoutVersion;
          const [bytes] = buffers;
          if (stale || bytes === undefined) {
            this.#cache.abandon(page, generation);
            return;
          }
          this.#cache.store(page, tableRows(decodeTable(bytes)), generation);
        })
        .catch(() => this.#cache.abandon(page, generation))
        .finally(() => {
          this.#inFlight -= 1;
          this.#schedule();
        });
    }
  }

  // -- selection ---------------------------------------------------------------------
  #onSelection(): void {
    const ids = this.#model.get("selected_ids");
    this.#selected = new Set(ids);
    for (const row of this.#rows.values()) {
      const runId = row.dataset["runId"];
      if (runId === undefined) continue;
      const selected = this.#selected.has(runId);
      row.classList.toggle("selected", selected);
      row.setAttribute("aria-selected", String(selected));
      const check = row.querySelector<HTMLInputElement>(".cb-rt-check");
      if (check !== null) check.checked = selected;
    }
    const total = this.#model.get("total");
    // Of the selected runs, those the filter passes; the box and the count speak of them.
    const shown = Math.min(this.#model.get("selected_shown") ?? ids.length, ids.length);
    const filtered = this.#model.get("filter").trim() !== "" || this.#model.get("summary_filters").length > 0;
    this.#header?.setCheck(headerCheck(shown, total));
    this.#toolbar.setCounts(total, ids.length, shown, filtered, this.#model.get("group_by") !== "");
  }

  #rowOf(event: Event): HTMLElement | null {
    const target = event.target instanceof Element ? event.target : null;
    const row = target?.closest<HTMLElement>(".cb-rt-row");
    return row && row.dataset["loaded"] === "true" ? row : null;
  }

  #onBodyClick(event: MouseEvent): void {
    const row = this.#rowOf(event);
    if (row === null) return;
    const runId = row.dataset["runId"] ?? "";
    const target = event.target as Element;
    this.#setCursor(Number(row.dataset["index"]));
    this.#scroll.focus({ preventScroll: true });
    if (target.closest(".cb-rt-open-button") !== null) {
      void this.#openDetail(runId, row);
      return;
    }
    const viaCheckbox = target.closest(".cb-rt-check") !== null;
    const change = applyClick(
      this.#model.get("selected_ids"),
      this.#anchor,
      { index: Number(row.dataset["index"]), runId, shift: event.shiftKey, toggle: viaCheckbox || event.ctrlKey || event.metaKey },
      (i) => {
        const id = this.#cache.row(i)?.["run_id"];
        return id === undefined ? undefined : String(id);
      },
    );
    this.#anchor = change.anchor;
    if (change.kind === "set") {
      this.#save("selected_ids", change.ids);
    } else {
      void this.#rpc.request("select", { mode: "range", start: change.start, end: change.end, add: change.add });
    }
  }

  #onBodyDoubleClick(event: MouseEvent): void {
    const row = this.#rowOf(event);
    if (row !== null) void this.#openDetail(row.dataset["runId"] ?? "", row);
  }

  /** The header box acts on the runs shown: some or all ticked unticks them, none ticks them all. */
  async #selectAll(): Promise<void> {
    const ids = this.#model.get("selected_ids");
    const shown = Math.min(this.#model.get("selected_shown") ?? ids.length, ids.length);
    if (ids.length > 0 && shown >= ids.length) {
      this.#save("selected_ids", []); // every selected run is shown: no need to ask
      return;
    }
    // Python holds the whole order; the runs the filter hides keep their selection.
    if (shown > 0) await this.#rpc.request("select", { mode: "all", add: false, remove: true });
    else await this.#rpc.request("select", { mode: "all", add: true });
  }

  // -- summaries, groups, detail, refresh ---------------------------------------------
  #fetchSummaries(): void {
    clearTimeout(this.#summaryTimer);
    this.#summaryTimer = setTimeout(() => {
      const generation = this.#model.get("generation");
      const version = this.#layoutVersion;
      this.#rpc
        .request("summaries", { columns: this.#model.get("columns") })
        .then(({ reply }) => {
          if (reply.generation !== generation || version !== this.#layoutVersion) return;
          this.#header?.setSummaries(reply.summaries, this.#model.get("summary_filters"));
        })
        .catch((error: unknown) => {
          // A header without summaries still sorts and filters; say why in the console.
          console.warn("canvasback: column summaries failed:", error);
        });
    }, SUMMARY_DELAY_MS);
  }

  #onGroupBy(): void {
    const grouped = this.#model.get("group_by") !== "";
    this.#grid.toggleAttribute("hidden", grouped);
    this.#groups.toggleAttribute("hidden", !grouped);
    this.#toolbar.setColumns(this.#model.get("available_columns"), this.#model.get("columns"), this.#model.get("group_by"));
    this.#onSelection();
    if (grouped) void this.#fetchGroups();
    else this.#schedule();
  }

  async #fetchGroups(): Promise<void> {
    const groupBy = this.#model.get("group_by");
    await loadGroups(this.#rpc, this.#groups, groupBy, this.#model.get("columns"), () => groupBy === this.#model.get("group_by"), (value) => {
      this.#save("summary_filters", withFilter(this.#model.get("summary_filters"), valueFilter(groupBy, value)));
      this.#save("group_by", "");
    });
  }

  async #openDetail(runId: string, row: HTMLElement): Promise<void> {
    const name = row.querySelector(".cb-rt-name")?.textContent ?? runId;
    this.#detail.loading(runId, name);
    this.#detail.reveal();
    try {
      const { reply, buffers } = await this.#rpc.request("detail", { run_id: runId, max_points: SPARK_POINTS });
      if (this.#detail.runId !== runId) return;
      this.#detail.show(reply, renderDetail(reply, historiesByKey(buffers[0])));
    } catch (error) {
      if (this.#detail.runId === runId) this.#detail.fail(String(error));
    }
  }

  async #refresh(): Promise<void> {
    this.#toolbar.setBusy(true);
    try {
      await this.#rpc.request("refresh", {});
    } catch (error) {
      this.#toolbar.setError({ reason: String(error), position: null, text: "", source: "filter" });
    } finally {
      this.#toolbar.setBusy(false);
    }
  }

  dispose(): void {
    this.#disposed = true;
    cancelAnimationFrame(this.#frame);
    clearTimeout(this.#summaryTimer);
    this.#toolbar.dispose();
    for (const off of this.#off) off();
    this.#off.length = 0;
  }
}

function render({ model, el }: RenderProps<RunTableModel>): () => void {
  // One RPC client per view (each asks for its own pages; anywidget hands every render
  // its own proxy of the model); random ids, so a view takes only its own replies.
  const client = new RpcClient<TableRpc>(model as unknown as MessageModel);
  const view = new RunTableView(model, el, client);
  return () => {
    view.dispose();
    client.dispose();
  };
}

export default { render };
