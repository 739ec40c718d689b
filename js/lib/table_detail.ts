// One run in detail, in a full-width panel under the table that takes the room its
// content needs (as MLflow's run page): attributes, latest metrics with a chart of their
// (downsampled) history, params, tags and artifacts, in columns as wide as they read.
import { decodeTable, tableRows, type ArrowBytes } from "./arrow";
import { formatDuration, formatNumber, formatTimestamp } from "./format";
import { h, sparkline } from "./table_dom";
import { formatBytes } from "./table_format";
import type { KeyValue, RunDetail } from "./table_types";

export const SPARK_POINTS = 60;
const CHART_WIDTH = 160;
const CHART_HEIGHT = 32;

/** Points per metric key from the `(key, step, value)` Arrow reply. */
export function historiesByKey(bytes: ArrowBytes | undefined): Map<string, { step: number; value: number }[]> {
  const out = new Map<string, { step: number; value: number }[]>();
  if (bytes === undefined || bytes.byteLength === 0) return out;
  for (const row of tableRows(decodeTable(bytes))) {
    const key = String(row["key"]);
    const list = out.get(key) ?? [];
    list.push({ step: Number(row["step"]), value: Number(row["value"]) });
    out.set(key, list);
  }
  return out;
}

function section(title: string, count: number, body: HTMLElement): HTMLElement {
  return h("section", { class: "cb-rt-detail-section" }, [h("h4", { text: count >= 0 ? `${title} (${count})` : title }), body]);
}

function keyValues(items: readonly KeyValue[], empty: string): HTMLElement {
  if (items.length === 0) return h("div", { class: "cb-rt-summary-empty", text: empty });
  const table = h("table", { class: "cb-rt-kv" });
  for (const { key, value } of items) {
    table.append(h("tr", {}, [h("th", { text: key, title: key }), h("td", { text: value, title: value })]));
  }
  return table;
}

function metricValue(value: number | string | null): string {
  if (typeof value === "string") return value === "Infinity" ? "∞" : value === "-Infinity" ? "-∞" : value;
  return formatNumber(value);
}

// What a run recorded of its code and environment (canvasback.projects.capture) gets
// sections of its own; the prefix is left out of the shown key (the title keeps it).
const SOURCE_PREFIX = "canvasback.source.";
const ENV_PREFIX = "canvasback.env.";

/** Tags split into the run's source (code version), environment and the rest. */
export function groupTags(tags: readonly KeyValue[]): { source: KeyValue[]; environment: KeyValue[]; other: KeyValue[] } {
  const source: KeyValue[] = [];
  const environment: KeyValue[] = [];
  const other: KeyValue[] = [];
  for (const tag of tags) {
    if (tag.key.startsWith(SOURCE_PREFIX)) source.push({ key: tag.key.slice(SOURCE_PREFIX.length), value: tag.value });
    else if (tag.key.startsWith(ENV_PREFIX)) environment.push({ key: tag.key.slice(ENV_PREFIX.length), value: tag.value });
    else other.push(tag);
  }
  return { source, environment, other };
}

/** The panel's content for `detail`; `histories` come from the reply's Arrow buffer. */
export function renderDetail(
  detail: RunDetail,
  histories: Map<string, { step: number; value: number }[]>,
  options: { utc?: boolean } = {},
): HTMLElement[] {
  const time = (ms: number | null): string => formatTimestamp(ms, { utc: options.utc ?? false });
  const duration = detail.start_time !== null && detail.end_time !== null ? formatDuration(detail.end_time - detail.start_time) : "—";
  const overview: KeyValue[] = [
    { key: "Run ID", value: detail.run_id },
    { key: "Status", value: detail.status ?? "—" },
    { key: "Experiment", value: detail.experiment_name ? `${detail.experiment_name} (${detail.experiment_id})` : detail.experiment_id },
    { key: "Created", value: time(detail.start_time) },
    { key: "Duration", value: duration },
    { key: "User", value: detail.user_id ?? "—" },
  ];
  if (detail.parent_run_id) overview.push({ key: "Parent run", value: detail.parent_run_id });

  let metrics: HTMLElement = h("div", { class: "cb-rt-summary-empty", text: "No metrics logged" });
  if (detail.metrics.length > 0) {
    metrics = h("table", { class: "cb-rt-kv cb-rt-metrics" });
    for (const metric of detail.metrics) {
      const points = histories.get(metric.key) ?? [];
      metrics.append(
        h("tr", {}, [
          h("th", { text: metric.key, title: metric.key }),
          h("td", { class: "num", text: metricValue(metric.value), title: `${String(metric.value)} at step ${metric.step}` }),
          h("td", { class: "cb-rt-spark-cell", title: `${points.length} points (downsampled)` }, [sparkline(points, CHART_WIDTH, CHART_HEIGHT)]),
        ]),
      );
    }
  }
  let artifacts: HTMLElement = h("div", { class: "cb-rt-summary-empty", text: "No artifacts" });
  if (detail.artifacts.length > 0) {
    artifacts = h("table", { class: "cb-rt-kv" });
    for (const { path, size } of detail.artifacts) {
      artifacts.append(h("tr", {}, [h("th", { class: "cb-rt-path", text: path, title: path }), h("td", { class: "num", text: formatBytes(size) })]));
    }
  }
  const inputs = (detail.datasets ?? []).map(({ name, digest, context, source }) => ({
    key: context ? `${name} (${context})` : name,
    value: source ? `${digest} · ${source}` : digest,
  }));
  const tags = groupTags(detail.tags);
  const provenance = [
    ...(tags.source.length > 0 ? [section("Source", tags.source.length, keyValues(tags.source, ""))] : []),
    ...(tags.environment.length > 0 ? [section("Environment", tags.environment.length, keyValues(tags.environment, ""))] : []),
  ];
  return [
    section("Overview", -1, keyValues(overview, "")),
    section("Metrics", detail.metrics.length, metrics),
    section("Params", detail.params.length, keyValues(detail.params, "No params logged")),
    ...provenance,
    section("Tags", tags.other.length, keyValues(tags.other, "No tags")),
    section("Artifacts", detail.artifacts.length, artifacts),
    section("Datasets", inputs.length, keyValues(inputs, "No datasets logged")),
  ];
}

/** The panel shell: a title bar with a close button, and the body, as tall as its content. */
export class DetailPanel {
  readonly el: HTMLElement;
  readonly #title: HTMLElement;
  readonly #body: HTMLElement;
  runId: string | null = null;

  constructor(onClose: () => void) {
    const close = h("button", { class: "cb-rt-close", text: "×", title: "Close (Esc)", attrs: { "aria-label": "Close run details" } });
    close.addEventListener("click", onClose);
    this.#title = h("h3", { class: "cb-rt-detail-title" });
    this.#body = h("div", { class: "cb-rt-detail-body" });
    this.el = h("aside", { class: "cb-rt-detail", attrs: { hidden: "", "aria-label": "Run details" } }, [
      h("header", { class: "cb-rt-detail-head" }, [this.#title, close]),
      this.#body,
    ]);
  }

  get open(): boolean {
    return !this.el.hidden;
  }

  /** Scroll the page (the notebook) as little as shows the panel, or its top if taller. */
  reveal(): void {
    this.el.scrollIntoView?.({ block: "nearest" });
  }

  loading(runId: string, name: string): void {
    this.runId = runId;
    this.el.removeAttribute("hidden");
    this.#title.textContent = name;
    this.#body.replaceChildren(h("div", { class: "cb-rt-summary-empty", text: "Loading…" }));
  }

  show(detail: RunDetail, content: HTMLElement[]): void {
    this.#title.textContent = detail.run_name ?? detail.run_id;
    this.#title.title = detail.run_id;
    this.#body.replaceChildren(...content);
  }

  fail(message: string): void {
    this.#body.replaceChildren(h("div", { class: "canvasback-error", text: message, attrs: { role: "alert" } }));
  }

  close(): void {
    this.runId = null;
    this.el.setAttribute("hidden", "");
  }
}
