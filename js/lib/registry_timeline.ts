// The alias history as a timeline: one lane per alias, a bar per version it pointed at,
// a mark per move. `aliasLanes` is pure (unit-tested); `timeline` draws it as SVG, with
// every text as a text node or a <title>, never markup.
import { formatTimestamp } from "./format";
import type { AliasMove } from "./registry_types";

export interface Segment {
  version: number;
  start: number;
  /** null: it still points there. */
  end: number | null;
}

export interface Lane {
  alias: string;
  segments: Segment[];
  moves: AliasMove[];
  /** The version it points at now; null once removed. */
  current: number | null;
}

/** Lanes of the history (oldest move first), aliases in order of first appearance. */
export function aliasLanes(history: readonly AliasMove[]): Lane[] {
  const lanes = new Map<string, Lane>();
  const ordered = [...history].sort((a, b) => a.timestamp - b.timestamp);
  for (const move of ordered) {
    let lane = lanes.get(move.alias);
    if (lane === undefined) {
      lane = { alias: move.alias, segments: [], moves: [], current: null };
      lanes.set(move.alias, lane);
    }
    const open = lane.segments[lane.segments.length - 1];
    if (open !== undefined && open.end === null) open.end = move.timestamp;
    if (move.to_version !== null) {
      lane.segments.push({ version: move.to_version, start: move.timestamp, end: null });
    }
    lane.current = move.to_version;
    lane.moves.push(move);
  }
  return [...lanes.values()];
}

const SVG = "http://www.w3.org/2000/svg";
const LABEL_WIDTH = 110;
const LANE_HEIGHT = 24;
const AXIS_HEIGHT = 18;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function titled<T extends SVGElement>(node: T, text: string): T {
  node.append(svg("title", {}, text));
  return node;
}

/** A colour per version number: neighbours differ, the same version is the same colour. */
export function versionColour(version: number): string {
  const hue = (version * 137.508) % 360;
  // Light enough that dark text on it reads at WCAG AA (4.5:1) for every hue.
  return `hsl(${hue.toFixed(0)} 55% 68%)`;
}

export function describeMove(move: AliasMove, utc = false): string {
  const from = move.from_version === null ? "set" : `v${move.from_version}`;
  const to = move.to_version === null ? "removed" : `v${move.to_version}`;
  const arrow = move.from_version === null ? `set to ${to}` : `${from} → ${to}`;
  const forced = move.forced ? ` · forced${move.overrode ? ` past ${move.overrode}` : ""}` : "";
  return `${formatTimestamp(move.timestamp, { utc })} · @${move.alias} ${arrow} · ${move.user_id}@${move.host}${forced}`;
}

/** The timeline of `history` as an SVG `width` pixels wide. */
export function timeline(history: readonly AliasMove[], width: number, now: number = Date.now()): SVGSVGElement {
  const lanes = aliasLanes(history);
  const height = AXIS_HEIGHT + lanes.length * LANE_HEIGHT + 4;
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "cb-reg-timeline", role: "img" });
  if (lanes.length === 0) return root;
  const times = history.map((m) => m.timestamp);
  const t0 = Math.min(...times);
  const t1 = Math.max(now, Math.max(...times) + 1);
  const plot = Math.max(width - LABEL_WIDTH - 8, 40);
  const x = (t: number): number => LABEL_WIDTH + ((t - t0) / (t1 - t0)) * plot;
  root.append(
    svg("text", { x: LABEL_WIDTH, y: 11, class: "cb-reg-axis" }, formatTimestamp(t0)),
    svg("text", { x: LABEL_WIDTH + plot, y: 11, class: "cb-reg-axis", "text-anchor": "end" }, "now"),
  );
  lanes.forEach((lane, i) => {
    const top = AXIS_HEIGHT + i * LANE_HEIGHT;
    const row = svg("g", { class: "cb-reg-lane", "data-alias": lane.alias });
    row.append(svg("text", { x: 0, y: top + 15, class: "cb-reg-lane-label" }, `@${lane.alias}`));
    row.append(svg("line", { x1: LABEL_WIDTH, x2: LABEL_WIDTH + plot, y1: top + 11, y2: top + 11, class: "cb-reg-lane-rule" }));
    for (const segment of lane.segments) {
      const left = x(segment.start);
      const right = x(segment.end ?? t1);
      const bar = svg("rect", {
        x: left.toFixed(1),
        y: top + 3,
        width: Math.max(right - left, 2).toFixed(1),
        height: 16,
        rx: 3,
        fill: versionColour(segment.version),
        class: "cb-reg-segment",
        "data-version": segment.version,
      });
      const until = segment.end === null ? "now" : formatTimestamp(segment.end);
      row.append(titled(bar, `@${lane.alias} → v${segment.version}: ${formatTimestamp(segment.start)} – ${until}`));
      if (right - left > 26) {
        row.append(svg("text", { x: (left + 5).toFixed(1), y: top + 15, class: "cb-reg-segment-label" }, `v${segment.version}`));
      }
    }
    for (const move of lane.moves) {
      const kind = `${move.to_version === null ? " removed" : ""}${move.forced ? " forced" : ""}`;
      const mark = svg("circle", { cx: x(move.timestamp).toFixed(1), cy: top + 11, r: 3.5, class: `cb-reg-move${kind}` });
      row.append(titled(mark, describeMove(move)));
    }
    root.append(row);
  });
  return root;
}
