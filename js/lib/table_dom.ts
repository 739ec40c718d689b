// Small DOM builders for the run table. Text from runs (names, params, tags) only ever
// reaches the page through textContent or attribute values, never as markup.
import { formatNumber, formatTimestamp } from "./format";
import type { ColumnType, HistogramSummary } from "./table_types";

const SVG = "http://www.w3.org/2000/svg";

export interface Props {
  class?: string;
  text?: string;
  title?: string;
  attrs?: Record<string, string>;
}

/** An element with a class, text (as textContent), a tooltip and attributes. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  children: (Node | null | undefined)[] = [],
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class !== undefined) el.className = props.class;
  if (props.text !== undefined) el.textContent = props.text;
  if (props.title !== undefined) el.title = props.title;
  for (const [name, value] of Object.entries(props.attrs ?? {})) el.setAttribute(name, value);
  for (const child of children) if (child) el.append(child);
  return el;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  return el;
}

/** A line of a metric's history; the last point is marked. */
export function sparkline(points: readonly { step: number; value: number }[], width = 120, height = 24): SVGSVGElement {
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "cb-rt-spark" });
  const finite = points.filter((p) => Number.isFinite(p.value) && Number.isFinite(p.step));
  if (finite.length === 0) return root;
  const steps = finite.map((p) => p.step);
  const values = finite.map((p) => p.value);
  const [x0, x1] = [Math.min(...steps), Math.max(...steps)];
  const [y0, y1] = [Math.min(...values), Math.max(...values)];
  const pad = 2;
  const x = (s: number): number => (x1 === x0 ? width / 2 : pad + ((s - x0) / (x1 - x0)) * (width - 2 * pad));
  const y = (v: number): number => (y1 === y0 ? height / 2 : height - pad - ((v - y0) / (y1 - y0)) * (height - 2 * pad));
  const path = finite.map((p) => `${x(p.step).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  root.append(svg("polyline", { points: path, fill: "none", class: "cb-rt-spark-line" }));
  const last = finite[finite.length - 1];
  if (last !== undefined) {
    root.append(svg("circle", { cx: x(last.step).toFixed(1), cy: y(last.value).toFixed(1), r: 2, class: "cb-rt-spark-dot" }));
  }
  return root;
}

export interface HistogramOptions {
  width: number;
  height: number;
  type: ColumnType;
  /** Active range filter on this column, shaded. */
  active?: { lo: number; hi: number } | undefined;
  /** Bins `first`..`last` (inclusive) were brushed. */
  onBrush: (first: number, last: number) => void;
}

function binTitle(summary: HistogramSummary, i: number, type: ColumnType): string {
  const fmt = (v: number | undefined): string =>
    v === undefined ? "?" : type === "time" ? formatTimestamp(v) : formatNumber(v);
  return `[${fmt(summary.edges[i])}, ${fmt(summary.edges[i + 1])}): ${formatNumber(summary.counts[i] ?? 0)} runs. Drag across bars to filter.`;
}

/** How far (px) a press must move to brush; less is a click, which the header takes. */
export const BRUSH_SLOP = 4;

/**
 * Bars of a column's histogram. Dragging across bars brushes a range: the brushed bins
 * light up while dragging and `onBrush` fires on release. A click without a drag is left
 * to the header cell (it sorts).
 */
export function histogram(summary: HistogramSummary, options: HistogramOptions): SVGSVGElement {
  const { width, height } = options;
  const root = svg("svg", { width, height, class: "cb-rt-hist", role: "img" });
  const n = summary.counts.length;
  if (n === 0) return root;
  const peak = Math.max(...summary.counts, 1);
  const barWidth = width / n;
  const bars: SVGRectElement[] = [];
  for (let i = 0; i < n; i += 1) {
    const count = summary.counts[i] ?? 0;
    const barHeight = count === 0 ? 0 : Math.max(1.5, (count / peak) * (height - 2));
    const lo = summary.edges[i] ?? 0;
    const hi = summary.edges[i + 1] ?? lo;
    const inActive = options.active !== undefined && lo >= options.active.lo && hi <= options.active.hi;
    // A full-height transparent hit area per bin: thin bars are still easy to hit.
    const hit = svg("rect", { x: i * barWidth, y: 0, width: barWidth, height, class: "cb-rt-hist-hit" });
    const title = svg("title", {});
    title.textContent = binTitle(summary, i, options.type);
    hit.append(title);
    const bar = svg("rect", {
      x: i * barWidth + 0.5,
      y: height - barHeight,
      width: Math.max(barWidth - 1, 1),
      height: barHeight,
      class: inActive ? "cb-rt-hist-bar active" : "cb-rt-hist-bar",
    });
    bar.dataset["bin"] = String(i);
    hit.dataset["bin"] = String(i);
    bars.push(bar);
    root.append(bar, hit);
  }
  let start: number | null = null;
  let startX = 0;
  let dragged = false;
  const binAt = (event: PointerEvent): number => {
    const box = root.getBoundingClientRect();
    return Math.min(Math.max(Math.floor(((event.clientX - box.left) / box.width) * n), 0), n - 1);
  };
  const paint = (a: number, b: number): void => {
    const [lo, hi] = [Math.min(a, b), Math.max(a, b)];
    bars.forEach((bar, i) => bar.classList.toggle("brushing", i >= lo && i <= hi));
  };
  root.addEventListener("pointerdown", (event) => {
    event.stopPropagation();
    event.preventDefault(); // no column drag from here
    start = binAt(event);
    startX = event.clientX;
    dragged = false;
    root.setPointerCapture?.(event.pointerId);
  });
  root.addEventListener("pointermove", (event) => {
    if (start === null) return;
    dragged ||= Math.abs(event.clientX - startX) >= BRUSH_SLOP;
    if (dragged) paint(start, binAt(event));
  });
  root.addEventListener("pointerup", (event) => {
    if (start === null) return;
    const end = binAt(event);
    const first = Math.min(start, end);
    const last = Math.max(start, end);
    start = null;
    if (dragged) options.onBrush(first, last);
  });
  root.addEventListener("click", (event) => {
    if (dragged) event.stopPropagation(); // a brush, not a sort
  });
  return root;
}
