// The selected version's lineage as a small graph: datasets -> run -> logged model ->
// version -> aliases (solid: point at it now; dashed: did before). Each node opens its
// detail below the graph: a dataset's name, digest, source, schema and profile (and the
// versions trained on it, asked of Python), the run (and "show in the run table" when a
// table is linked), the logged model, the version, an alias and its moves.
// `lineageLayout` is pure (unit-tested); every text is a text node or a <title>, never markup.
import { formatNumber, formatTimestamp } from "./format";
import { button, type PanelContext } from "./registry_context";
import { guardOf, lock, protectionText } from "./registry_guards";
import { describeMove, versionColour } from "./registry_timeline";
import type { DatasetNode, Lineage } from "./registry_types";
import { h } from "./table_dom";

export type NodeKind = "dataset" | "run" | "model" | "version" | "alias";

export interface LineageNode {
  id: string;
  kind: NodeKind;
  label: string;
  sub: string;
  column: number;
  row: number;
  /** An alias that pointed at the version before, not now. */
  past: boolean;
}

export interface LineageEdge {
  from: string;
  to: string;
  past: boolean;
}

export interface LineageLayout {
  nodes: LineageNode[];
  edges: LineageEdge[];
  columns: number;
  rows: number;
}

/** The graph's nodes in columns (datasets, run, logged model, version, aliases) and its edges. */
export function lineageLayout(lineage: Lineage): LineageLayout {
  const nodes: LineageNode[] = [];
  const edges: LineageEdge[] = [];
  let column = 0;
  const add = (node: Omit<LineageNode, "column" | "row" | "past"> & { past?: boolean }, row: number): void => {
    nodes.push({ past: false, ...node, column, row });
  };
  let previous: string[] = [];
  if (lineage.run !== null) {
    if (lineage.datasets.length > 0) {
      lineage.datasets.forEach((d, i) => add({ id: `dataset:${i}`, kind: "dataset", label: d.name, sub: d.context || "input" }, i));
      previous = lineage.datasets.map((_, i) => `dataset:${i}`);
      column += 1;
    }
    add({ id: "run", kind: "run", label: lineage.run.run_name ?? lineage.run.run_id.slice(0, 8), sub: `run · ${lineage.run.status ?? "?"}` }, 0);
    for (const from of previous) edges.push({ from, to: "run", past: false });
    previous = ["run"];
    column += 1;
  }
  if (lineage.logged_model_id) {
    add({ id: "model", kind: "model", label: lineage.logged_model_id, sub: "logged model" }, 0);
    for (const from of previous) edges.push({ from, to: "model", past: false });
    previous = ["model"];
    column += 1;
  }
  add({ id: "version", kind: "version", label: `${lineage.name} v${lineage.version}`, sub: "version" }, 0);
  for (const from of previous) edges.push({ from, to: "version", past: false });
  column += 1;
  const aliases = [...lineage.aliases.map((a) => ({ a, past: false })), ...lineage.past_aliases.map((a) => ({ a, past: true }))];
  aliases.forEach(({ a, past }, i) => {
    add({ id: `alias:${a}`, kind: "alias", label: `@${a}`, sub: past ? "pointed here" : "points here", past }, i);
    edges.push({ from: "version", to: `alias:${a}`, past });
  });
  if (aliases.length > 0) column += 1;
  const rows = Math.max(1, ...nodes.map((n) => n.row + 1));
  return { nodes, edges, columns: column, rows };
}

const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 150;
const NODE_H = 38;
const GAP_X = 36;
const GAP_Y = 12;
const MAX_LABEL = 20;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function clip(text: string): string {
  return text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text;
}

/** The graph as an SVG; a click (or Enter) on a node calls `onOpen` with its id. */
export function lineageGraph(layout: LineageLayout, open: string | null, onOpen: (id: string) => void): SVGSVGElement {
  const width = layout.columns * (NODE_W + GAP_X) - GAP_X + 2;
  const height = layout.rows * (NODE_H + GAP_Y) - GAP_Y + 2;
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "cb-reg-lineage-graph", role: "group", "aria-label": "Lineage" });
  const at = new Map(layout.nodes.map((n) => [n.id, { x: 1 + n.column * (NODE_W + GAP_X), y: 1 + n.row * (NODE_H + GAP_Y) }]));
  for (const edge of layout.edges) {
    const a = at.get(edge.from);
    const b = at.get(edge.to);
    if (!a || !b) continue;
    const [x1, y1, x2, y2] = [a.x + NODE_W, a.y + NODE_H / 2, b.x, b.y + NODE_H / 2];
    const mid = (x1 + x2) / 2;
    root.append(svg("path", { d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`, class: `cb-reg-edge${edge.past ? " past" : ""}` }));
  }
  for (const node of layout.nodes) {
    const p = at.get(node.id);
    if (!p) continue;
    const g = svg("g", {
      class: `cb-reg-node${node.past ? " past" : ""}${node.id === open ? " open" : ""}`,
      "data-node": node.id,
      "data-kind": node.kind,
      transform: `translate(${p.x},${p.y})`,
      tabindex: 0,
      role: "button",
      "aria-label": `${node.sub}: ${node.label}`,
    });
    g.append(svg("title", {}, `${node.sub}: ${node.label}`));
    g.append(svg("rect", { width: NODE_W, height: NODE_H, rx: 5, class: "cb-reg-node-box" }));
    g.append(svg("text", { x: 8, y: 15, class: "cb-reg-node-label" }, clip(node.label)));
    g.append(svg("text", { x: 8, y: 30, class: "cb-reg-node-sub" }, clip(node.sub)));
    g.addEventListener("click", () => onOpen(node.id));
    g.addEventListener("keydown", (event) => {
      if ((event as KeyboardEvent).key === "Enter") onOpen(node.id);
    });
    root.append(g);
  }
  return root;
}

function pairs(entries: [string, string][]): HTMLElement {
  const list = h("dl", { class: "cb-reg-detail-list" });
  for (const [key, value] of entries) list.append(h("dt", { text: key }), h("dd", { text: value }));
  return list;
}

function jsonText(value: unknown): string {
  if (typeof value === "number") return formatNumber(value);
  return typeof value === "string" ? value : JSON.stringify(value);
}

function datasetDetail(ctx: PanelContext, d: DatasetNode): HTMLElement {
  const box = h("div", { class: "cb-reg-node-detail", attrs: { "data-kind": "dataset" } }, [
    h("h5", { text: `Dataset ${d.name}` }),
    pairs([
      ["digest", d.digest],
      ["used for", d.context || "—"],
      ["source", d.source_type ? `${d.source} (${d.source_type})` : d.source],
    ]),
  ]);
  const columns = (d.schema.columns ?? d.schema.tensors) as { name: string; type: string; shape?: number[] }[] | undefined;
  if (Array.isArray(columns) && columns.length > 0) {
    const table = h("table", { class: "cb-reg-schema" }, [h("tr", {}, [h("th", { text: "column" }), h("th", { text: "type" })])]);
    for (const c of columns) table.append(h("tr", {}, [h("td", { text: String(c.name) }), h("td", { text: `${c.type}${c.shape ? ` ${JSON.stringify(c.shape)}` : ""}` })]));
    box.append(h("div", { class: "cb-reg-label", text: "Schema" }), table);
  }
  const profile = Object.entries(d.profile);
  if (profile.length > 0) box.append(h("div", { class: "cb-reg-label", text: "Profile" }), pairs(profile.map(([k, v]) => [k, jsonText(v)])));
  const trained = ctx.lineage.trainedOn;
  const ask = button("Versions trained on it", "Every registered version whose source run logged this dataset", () => {
    void ctx.ask("dataset_versions", { digest: d.digest }).then((reply) => {
      if (reply) ctx.lineage.trainedOn = { digest: reply.digest, rows: reply.versions };
      ctx.redraw();
    });
  }, "cb-reg-trained-on");
  box.append(ask);
  if (trained && trained.digest === d.digest) {
    const list = h("ul", { class: "cb-reg-trained-list" });
    for (const v of trained.rows) {
      list.append(h("li", { attrs: { "data-version": `${v.name}/${v.version}` }, text: `${v.name} v${v.version} (${v.context || "input"}) · run ${v.run_name ?? v.run_id ?? "—"}` }));
    }
    if (trained.rows.length === 0) list.append(h("li", { class: "cb-reg-muted", text: "No registered version." }));
    box.append(list);
  }
  return box;
}

function runDetail(ctx: PanelContext, lineage: Lineage): HTMLElement | null {
  const run = lineage.run;
  if (run === null) return null;
  const box = h("div", { class: "cb-reg-node-detail", attrs: { "data-kind": "run", "data-run-id": run.run_id } }, [
    h("h5", { text: `Run ${run.run_name ?? run.run_id}` }),
    pairs([
      ["run id", run.run_id],
      ["status", run.status ?? "—"],
      ["experiment", run.experiment_id ?? "—"],
      ["git commit", run.git_commit ?? "—"],
      ...Object.entries(run.code).map(([k, v]): [string, string] => [`code ${k}`, v]),
      ...Object.entries(run.environment).slice(0, 8).map(([k, v]): [string, string] => [`env ${k}`, v]),
    ]),
  ]);
  if (ctx.model.get("linked")) {
    box.append(
      button("Show in the run table", "Select this run in the linked run table", () => {
        void ctx.ask("open_run", { run_id: run.run_id }).then((reply) => {
          ctx.lineage.note = reply?.opened ? "Selected in the run table." : "";
          ctx.redraw();
        });
      }, "cb-reg-open-run"),
    );
    if (ctx.lineage.note) box.append(h("span", { class: "cb-reg-muted cb-reg-open-note", text: ` ${ctx.lineage.note}` }));
  } else {
    box.append(h("p", { class: "cb-reg-muted", text: "Show a run table beside the panel (dashboard(), or registry_panel(table=...)) to open the run there." }));
  }
  return box;
}

function aliasDetail(ctx: PanelContext, lineage: Lineage, alias: string): HTMLElement {
  const now = lineage.aliases.includes(alias);
  const box = h("div", { class: "cb-reg-node-detail", attrs: { "data-kind": "alias" } }, [
    h("h5", { text: `@${alias} ${now ? "points at" : "pointed at"} ${lineage.name} v${lineage.version}` }),
  ]);
  const guard = guardOf(ctx, lineage.name, alias);
  const locked = lock(guard);
  if (locked && guard) box.append(h("p", {}, [locked, document.createTextNode(` ${protectionText(guard)}`)]));
  const moves = h("ol", { class: "cb-reg-moves" });
  for (const move of lineage.moves.filter((m) => m.alias === alias)) moves.append(h("li", { text: describeMove(move) }));
  box.append(moves);
  return box;
}

function detail(ctx: PanelContext, lineage: Lineage, open: string): HTMLElement | null {
  if (open === "run") return runDetail(ctx, lineage);
  if (open.startsWith("dataset:")) {
    const d = lineage.datasets[Number(open.slice("dataset:".length))];
    return d ? datasetDetail(ctx, d) : null;
  }
  if (open.startsWith("alias:")) return aliasDetail(ctx, lineage, open.slice("alias:".length));
  if (open === "model") {
    return h("div", { class: "cb-reg-node-detail", attrs: { "data-kind": "model" } }, [
      h("h5", { text: "Logged model" }),
      pairs([
        ["model id", lineage.logged_model_id ?? "—"],
        ["URI", `models:/${lineage.logged_model_id ?? ""}`],
        ["folder in the run", lineage.artifact_path ?? "—"],
      ]),
    ]);
  }
  return h("div", { class: "cb-reg-node-detail", attrs: { "data-kind": "version" } }, [
    h("h5", { text: `${lineage.name} v${lineage.version}` }),
    pairs([
      ["URI", `models:/${lineage.name}/${lineage.version}`],
      ["source", lineage.source],
      ["last alias move", lineage.moves.length > 0 ? formatTimestamp(lineage.moves[lineage.moves.length - 1]?.timestamp) : "—"],
    ]),
  ]);
}

/** The lineage section of the selected version (its graph, and the node opened). */
export function lineageSection(ctx: PanelContext, lineage: Lineage): HTMLElement {
  const section = h("section", { class: "cb-reg-lineage", attrs: { "data-version": lineage.key } });
  const badge = h("span", { class: "cb-reg-vbadge", text: `v${lineage.version}` });
  badge.style.setProperty("--cb-reg-version", versionColour(lineage.version));
  section.append(h("h4", {}, [document.createTextNode(`Lineage of ${lineage.name} `), badge]));
  const layout = lineageLayout(lineage);
  const open = layout.nodes.some((n) => n.id === ctx.lineage.open) ? ctx.lineage.open : null;
  const onOpen = (id: string): void => {
    ctx.lineage.open = id === ctx.lineage.open ? null : id;
    ctx.lineage.note = "";
    ctx.redraw();
  };
  section.append(h("div", { class: "cb-reg-lineage-scroll" }, [lineageGraph(layout, open, onOpen)]));
  if (lineage.run === null) section.append(h("p", { class: "cb-reg-muted", text: "A version of a folder outside any run: no run, no datasets." }));
  else if (lineage.datasets.length === 0) section.append(h("p", { class: "cb-reg-muted", text: "Its run logged no dataset (log_input)." }));
  if (open !== null) {
    const shown = detail(ctx, lineage, open);
    if (shown) section.append(shown);
  }
  return section;
}
