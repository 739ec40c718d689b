// The live run view: status, elapsed time, latest metrics and a sparkline per charted key,
// and a strip of the machine's CPU, memory and GPUs when the run logs system metrics.
// Python pushes small Arrow tables into `latest` and `series` while the run trains; the
// elapsed time ticks here, so the kernel sends nothing while no metric changes. Lines are
// plain SVG paths: no chart library, so the bundle stays small. Every run-supplied text
// goes in through textContent.
import type { RenderProps } from "@anywidget/types";
import { decodeColumns, type ArrowBytes } from "./lib/arrow";
import { formatNumber } from "./lib/format";
import { styleElement } from "./lib/styles";
import { drawStrip, type SystemChip } from "./lib/system_strip";
import css from "./styles/live_run.css";

/** Synced traits of `canvasback.widgets.LiveRun`. */
export interface LiveRunModel {
  run_name: string;
  run_id: string;
  status: string;
  /** Milliseconds since the epoch. */
  start_time: number;
  end_time: number | null;
  /** Keys logged, including those not listed (system metrics aside: they are in `system`). */
  metric_count: number;
  /** Arrow IPC: key, step, timestamp, value, chart (slot or -1), axis. */
  latest: ArrowBytes;
  /** Arrow IPC: chart (slot), x, y; points of a slot in x order. */
  series: ArrowBytes;
  /** The system strip's chips (CPU, memory, GPUs); empty without system metrics. */
  system: SystemChip[];
}

const SVG_NS = "http://www.w3.org/2000/svg";
const SPARK_W = 160;
const SPARK_H = 34;
const TICK_MS = 250;

/** Elapsed time as a clock: "0:04", "12:34", "1:02:03". */
export function formatClock(ms: number): string {
  const total = Math.floor(Math.max(ms, 0) / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

/** An SVG path through the points, scaled into the sparkline box (y up). */
export function sparkPath(xs: ArrayLike<number>, ys: ArrayLike<number>, width = SPARK_W, height = SPARK_H): string {
  const n = Math.min(xs.length, ys.length);
  if (n === 0) return "";
  // One point is a short dash rather than an invisible zero-length segment.
  if (n === 1) return `M${(width / 2 - 2).toFixed(1)} ${(height / 2).toFixed(1)}h4`;
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < n; i += 1) {
    const x = xs[i] as number;
    const y = ys[i] as number;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  const pad = 2;
  const sx = x1 > x0 ? (width - 2 * pad) / (x1 - x0) : 0;
  const sy = y1 > y0 ? (height - 2 * pad) / (y1 - y0) : 0;
  const parts: string[] = [];
  for (let i = 0; i < n; i += 1) {
    // A single x (or a flat line) is centred rather than pinned to an edge.
    const px = sx === 0 ? width / 2 : pad + ((xs[i] as number) - x0) * sx;
    const py = sy === 0 ? height / 2 : height - pad - ((ys[i] as number) - y0) * sy;
    parts.push(`${i === 0 ? "M" : "L"}${px.toFixed(1)} ${py.toFixed(1)}`);
  }
  return parts.join("");
}

/** "min – max" of the drawn values; one value when the line is flat. */
function rangeText(ys: number[]): string {
  if (ys.length === 0) return "";
  let lo = Infinity;
  let hi = -Infinity;
  for (const y of ys) {
    if (y < lo) lo = y;
    if (y > hi) hi = y;
  }
  return lo === hi ? formatNumber(lo) : `${formatNumber(lo)} – ${formatNumber(hi)}`;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

interface Card {
  root: HTMLDivElement;
  key: HTMLSpanElement;
  value: HTMLSpanElement;
  step: HTMLSpanElement;
  range: HTMLSpanElement;
  path: SVGPathElement;
}

function makeCard(): Card {
  const root = element("div", "cb-live-card");
  const head = element("div", "cb-live-card-head");
  const key = element("span", "cb-live-key");
  const value = element("span", "cb-live-value");
  head.append(key, value);
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", "cb-live-spark");
  svg.setAttribute("viewBox", `0 0 ${SPARK_W} ${SPARK_H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("class", "cb-live-line");
  svg.append(path);
  const foot = element("div", "cb-live-card-foot");
  const step = element("span", "cb-live-card-step");
  const range = element("span", "cb-live-range");
  foot.append(step, range);
  root.append(head, svg, foot);
  return { root, key, value, step, range, path };
}

interface Slot {
  xs: number[];
  ys: number[];
}

function slotsOf(bytes: ArrowBytes | null | undefined): Map<number, Slot> {
  const columns = decodeColumns(bytes);
  const chart = columns["chart"] ?? [];
  const xs = columns["x"] ?? [];
  const ys = columns["y"] ?? [];
  const slots = new Map<number, Slot>();
  for (let i = 0; i < chart.length; i += 1) {
    const slot = Number(chart[i]);
    let entry = slots.get(slot);
    if (entry === undefined) {
      entry = { xs: [], ys: [] };
      slots.set(slot, entry);
    }
    entry.xs.push(Number(xs[i]));
    entry.ys.push(Number(ys[i]));
  }
  return slots;
}

function render({ model, el }: RenderProps<LiveRunModel>): () => void {
  const style = styleElement(css);
  const root = element("div", "canvasback cb-live");
  const head = element("div", "cb-live-head");
  const status = element("span", "cb-live-status");
  status.setAttribute("role", "status");
  const name = element("span", "cb-live-name");
  const meta = element("span", "cb-live-meta");
  const step = element("span", "cb-live-step");
  const elapsed = element("span", "cb-live-elapsed");
  // Shown instead of the cards once the run has ended: the view collapses to one line.
  const summary = element("span", "cb-live-summary");
  meta.append(step, elapsed);
  head.append(status, name, summary, meta);
  head.title = "Click to show or hide the charts";
  head.addEventListener("click", () => {
    root.dataset["collapsed"] = root.dataset["collapsed"] === "true" ? "false" : "true";
  });
  const strip = element("div", "cb-live-system");
  strip.hidden = true;
  const grid = element("div", "cb-live-grid");
  const more = element("div", "cb-live-more");
  const empty = element("div", "cb-live-empty", "waiting for metrics…");
  root.append(head, strip, grid, more, empty);
  el.append(style, root);

  const cards = new Map<string, Card>();
  let timer: ReturnType<typeof setInterval> | undefined;

  const tick = (): void => {
    const start = Number(model.get("start_time"));
    const end = model.get("end_time");
    const stop = end === null || end === undefined ? Date.now() : Number(end);
    elapsed.textContent = formatClock(stop - start);
  };

  const drawHeader = (): void => {
    const value = String(model.get("status") ?? "");
    status.textContent = value;
    root.dataset["status"] = value;
    root.dataset["runStatus"] = value;
    name.textContent = String(model.get("run_name") ?? "");
    name.title = `run ${String(model.get("run_id") ?? "")}`;
    tick();
    const running = value === "RUNNING";
    // An ended run's view collapses to its head line (a click opens it again).
    if (!running && value !== "" && root.dataset["collapsed"] === undefined) root.dataset["collapsed"] = "true";
    if (running && timer === undefined) {
      timer = setInterval(tick, TICK_MS);
    } else if (!running && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  const drawMetrics = (): void => {
    const columns = decodeColumns(model.get("latest"));
    const keys = columns["key"] ?? [];
    const steps = columns["step"] ?? [];
    const values = columns["value"] ?? [];
    const charts = columns["chart"] ?? [];
    const slots = slotsOf(model.get("series"));
    const chips: HTMLElement[] = [];
    const alive = new Set<string>();
    let maxStep: number | null = null;
    for (let i = 0; i < keys.length; i += 1) {
      const key = String(keys[i]);
      const stepValue = Number(steps[i]);
      const value = values[i] as number;
      maxStep = maxStep === null ? stepValue : Math.max(maxStep, stepValue);
      const slot = Number(charts[i]);
      if (slot < 0) {
        const chip = element("span", "cb-live-chip");
        chip.dataset["key"] = key;
        chip.append(element("span", "cb-live-key", key), element("span", "cb-live-value", formatNumber(value)));
        chips.push(chip);
        continue;
      }
      alive.add(key);
      let card = cards.get(key);
      if (card === undefined) {
        card = makeCard();
        card.root.dataset["key"] = key;
        card.key.textContent = key;
        card.key.title = key;
        cards.set(key, card);
      }
      grid.append(card.root); // keeps cards in slot order
      card.value.textContent = formatNumber(value);
      card.root.dataset["value"] = String(value);
      card.root.dataset["step"] = String(stepValue);
      card.step.textContent = `step ${formatNumber(stepValue)}`;
      const points = slots.get(slot) ?? { xs: [], ys: [] };
      card.path.setAttribute("d", sparkPath(points.xs, points.ys));
      card.path.dataset["points"] = String(points.xs.length);
      card.range.textContent = rangeText(points.ys);
    }
    for (const [key, card] of cards) {
      if (!alive.has(key)) {
        card.root.remove();
        cards.delete(key);
      }
    }
    const hidden = Number(model.get("metric_count") ?? 0) - keys.length;
    if (hidden > 0) chips.push(element("span", "cb-live-chip cb-live-hidden", `+${hidden} more`));
    more.replaceChildren(...chips);
    more.hidden = chips.length === 0;
    empty.hidden = keys.length > 0;
    step.textContent = maxStep === null ? "" : `step ${formatNumber(maxStep)}`;
    const first = keys.length > 0 ? `${String(keys[0])} ${formatNumber(values[0] as number)}` : "";
    summary.textContent = keys.length > 1 ? `${first} · +${keys.length - 1}` : first;
    root.dataset["step"] = maxStep === null ? "" : String(maxStep);
  };

  const safely = (draw: () => void) => (): void => {
    try {
      draw();
      delete root.dataset["error"];
    } catch (error) {
      // A bad payload must not blank the view; the next push redraws it.
      root.dataset["error"] = String(error);
      console.error("canvasback live view:", error);
    }
  };
  const onHeader = safely(drawHeader);
  const onMetrics = safely(drawMetrics);
  const onSystem = safely(() => drawStrip(strip, model.get("system")));
  for (const key of ["status", "run_name", "run_id", "start_time", "end_time"]) {
    model.on(`change:${key}`, onHeader);
  }
  for (const key of ["latest", "series", "metric_count"]) {
    model.on(`change:${key}`, onMetrics);
  }
  model.on("change:system", onSystem);
  onHeader();
  onMetrics();
  onSystem();
  el.dataset["rendered"] = "true";

  return () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    for (const key of ["status", "run_name", "run_id", "start_time", "end_time"]) {
      model.off(`change:${key}`, onHeader);
    }
    for (const key of ["latest", "series", "metric_count"]) {
      model.off(`change:${key}`, onMetrics);
    }
    model.off("change:system", onSystem);
  };
}

export default { render };
