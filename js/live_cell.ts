// The runs one notebook cell started (a sweep), as rows of one live view: status, name,
// elapsed time, the latest value of the run's first metric and its sparkline, under the
// system strip of the newest run that logs system metrics. Python pushes `rows` as the
// runs log and end; the clocks of running rows tick here. Text from runs goes in through
// textContent only.
import type { RenderProps } from "@anywidget/types";
import { formatNumber } from "./lib/format";
import { styleElement } from "./lib/styles";
import { drawStrip, type SystemChip } from "./lib/system_strip";
import { formatClock, sparkPath } from "./live_run";
import css from "./styles/live_run.css";

export interface CellRow {
  run_id: string;
  run_name: string;
  status: string;
  start_time: number;
  end_time: number | null;
  key: string;
  value: number | null;
  step: number | null;
  /** Sparkline points: x, then y. */
  xs: number[];
  ys: number[];
}

/** Synced traits of `canvasback.widgets.live_cell.LiveCell`. */
export interface LiveCellModel {
  rows: CellRow[];
  /** The system strip of the cell's newest run that has one. */
  system: SystemChip[];
}

const SVG_NS = "http://www.w3.org/2000/svg";
const SPARK_W = 120;
const SPARK_H = 20;
const TICK_MS = 500;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** "3 runs · 1 running · 2 finished". */
export function cellSummary(rows: readonly Pick<CellRow, "status">[]): string {
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.status, (counts.get(row.status) ?? 0) + 1);
  const parts = [`${rows.length} run${rows.length === 1 ? "" : "s"}`];
  for (const [status, count] of counts) parts.push(`${count} ${status.toLowerCase()}`);
  return parts.join(" · ");
}

function render({ model, el }: RenderProps<LiveCellModel>): () => void {
  const root = element("div", "canvasback cb-live cb-live-cell");
  const head = element("div", "cb-live-head", "");
  const strip = element("div", "cb-live-system");
  strip.hidden = true;
  const list = element("div", "cb-live-rows");
  root.append(head, strip, list);
  el.append(styleElement(css), root);
  const clocks: { node: HTMLElement; start: number }[] = [];

  const draw = (): void => {
    const rows = model.get("rows") ?? [];
    head.textContent = cellSummary(rows);
    root.dataset["runs"] = String(rows.length);
    clocks.length = 0;
    list.replaceChildren(
      ...rows.map((row) => {
        const line = element("div", "cb-live-row");
        line.dataset["runId"] = row.run_id;
        line.dataset["status"] = row.status;
        line.dataset["runStatus"] = row.status;
        const status = element("span", "cb-live-status", row.status);
        const name = element("span", "cb-live-name", row.run_name);
        name.title = `run ${row.run_id}`;
        const clock = element("span", "cb-live-elapsed");
        const end = row.end_time ?? Date.now();
        clock.textContent = formatClock(end - row.start_time);
        if (row.end_time === null && row.status === "RUNNING") clocks.push({ node: clock, start: row.start_time });
        const metric = element("span", "cb-live-row-metric", row.key ? `${row.key} ${row.value === null ? "—" : formatNumber(row.value)}` : "");
        if (row.step !== null) metric.title = `step ${formatNumber(row.step)}`;
        const svg = document.createElementNS(SVG_NS, "svg");
        svg.setAttribute("class", "cb-live-spark");
        svg.setAttribute("width", String(SPARK_W));
        svg.setAttribute("height", String(SPARK_H));
        svg.setAttribute("viewBox", `0 0 ${SPARK_W} ${SPARK_H}`);
        const path = document.createElementNS(SVG_NS, "path");
        path.setAttribute("class", "cb-live-line");
        path.setAttribute("d", sparkPath(row.xs, row.ys, SPARK_W, SPARK_H));
        path.dataset["points"] = String(row.xs.length);
        svg.append(path);
        line.append(status, name, metric, svg, clock);
        return line;
      }),
    );
  };
  const timer = setInterval(() => {
    for (const clock of clocks) clock.node.textContent = formatClock(Date.now() - clock.start);
  }, TICK_MS);
  const drawSystem = (): void => drawStrip(strip, model.get("system"));
  model.on("change:rows", draw);
  model.on("change:system", drawSystem);
  draw();
  drawSystem();
  el.dataset["rendered"] = "true";
  return () => {
    clearInterval(timer);
    model.off("change:rows", draw);
    model.off("change:system", drawSystem);
  };
}

export default { render };
