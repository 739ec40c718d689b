// Vega-Lite charts with the bundled vega-embed: Python builds the spec (Altair) and names
// its datasets; the rows arrive separately as Arrow bytes and are inserted here, so the
// spec trait stays small and data can change without re-sending the spec.
import embed, { type Result, type VisualizationSpec } from "vega-embed";
import { decodeRows, safeNumber, type ArrowBytes, type Row } from "./arrow";
import { themeColours, themeConfig, withTheme } from "./theme";

export type { VisualizationSpec } from "vega-embed";

export type Scalar = string | number | boolean | null;
export type Datum = Record<string, Scalar>;

/** A selection parameter's state, JSON-safe: the signal value and the selection store. */
export interface SelectionState {
  value: unknown;
  store: unknown;
}

export type DatasetInput = ArrowBytes | Row[];

export interface ChartOptions {
  renderer?: "svg" | "canvas";
  onClick?: (datum: Datum) => void;
  onSelection?: (name: string, state: SelectionState) => void;
  /** Selection updates during a drag are coalesced; this bounds how stale they may get. */
  selectionWaitMs?: number;
}

export interface Chart {
  readonly result: Result;
  /** Replace the rows of named datasets without re-embedding the spec. */
  setDatasets(datasets: Record<string, DatasetInput>): Promise<void>;
  finalize(): void;
}

export const ERROR_CLASS = "canvasback-error";

function toRows(input: DatasetInput): Row[] {
  return Array.isArray(input) ? input : decodeRows(input);
}

function toScalar(value: unknown): Scalar | undefined {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "bigint") {
    const safe = safeNumber(value);
    return typeof safe === "bigint" ? safe.toString() : safe;
  }
  if (value instanceof Date) return value.getTime();
  return undefined;
}

/**
 * The scalar fields of a mark's datum. Vega adds internal symbols and may attach nested
 * objects (facets, aggregates); neither can or should cross to Python.
 */
export function cleanDatum(datum: unknown): Datum {
  const out: Datum = {};
  if (typeof datum !== "object" || datum === null) return out;
  for (const [key, value] of Object.entries(datum)) {
    const scalar = toScalar(value);
    if (scalar !== undefined) out[key] = scalar;
  }
  return out;
}

/** A deep copy that survives JSON: BigInt as number (or string), Date as epoch ms. */
export function toJsonSafe(value: unknown): unknown {
  if (value === undefined) return null;
  return JSON.parse(
    JSON.stringify(value, (_key, item: unknown) => {
      if (typeof item === "bigint") return toScalar(item);
      return item;
    }),
  ) as unknown;
}

const NESTED_VIEWS = ["layer", "hconcat", "vconcat", "concat", "spec"] as const;

/** Names of selection parameters anywhere in a Vega-Lite spec (Altair lifts most to the top). */
export function selectionNames(spec: unknown): string[] {
  const names = new Set<string>();
  const visit = (node: unknown): void => {
    if (typeof node !== "object" || node === null) return;
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    const record = node as Record<string, unknown>;
    const params = record["params"];
    if (Array.isArray(params)) {
      for (const param of params as unknown[]) {
        if (typeof param === "object" && param !== null && "select" in param) {
          const name = (param as { name?: unknown }).name;
          if (typeof name === "string") names.add(name);
        }
      }
    }
    for (const key of NESTED_VIEWS) visit(record[key]);
  };
  visit(spec);
  return [...names];
}

/** Trailing-edge debounce that still fires at least every `maxWaitMs` while calls continue. */
export function debounce(fn: () => void, waitMs: number, maxWaitMs: number): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let firstCall: number | undefined;
  const fire = (): void => {
    timer = undefined;
    firstCall = undefined;
    fn();
  };
  const debounced = (): void => {
    const now = Date.now();
    firstCall ??= now;
    if (timer !== undefined) clearTimeout(timer);
    const remaining = Math.max(0, Math.min(waitMs, firstCall + maxWaitMs - now));
    timer = setTimeout(fire, remaining);
  };
  debounced.cancel = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    firstCall = undefined;
  };
  return debounced;
}

/** Show an error inside the widget's element instead of leaving it blank. */
/** An inline error box for a chart that failed (styled by js/styles/tokens.css). */
export function errorBox(error: unknown): HTMLElement {
  const box = document.createElement("div");
  box.className = ERROR_CLASS;
  box.setAttribute("role", "alert");
  // textContent, not innerHTML: the message may quote spec or run text.
  box.textContent = `Chart error: ${error instanceof Error ? error.message : String(error)}`;
  return box;
}

/** Replaces any error box directly in `el` with one for `error`. */
export function showError(el: HTMLElement, error: unknown): HTMLElement {
  clearError(el);
  const box = errorBox(error);
  el.append(box);
  return box;
}

export function clearError(el: HTMLElement): void {
  for (const box of el.querySelectorAll(`:scope > .${ERROR_CLASS}`)) box.remove();
}

/**
 * Embed `spec` in `target`, with the named datasets filled from Arrow bytes or rows.
 * Errors propagate; callers decide where to show them (see `showError`).
 */
export async function embedChart(
  target: HTMLElement,
  spec: VisualizationSpec,
  datasets: Record<string, DatasetInput>,
  options: ChartOptions = {},
): Promise<Chart> {
  // A copy, because vega-embed and vega mutate the spec and data they are given, and the
  // spec here is usually the model's own trait value.
  let copy = structuredClone(spec) as VisualizationSpec & { datasets?: Record<string, unknown>; config?: Record<string, unknown> };
  const colours = themeColours(target);
  if (colours !== null) copy = withTheme(copy, themeConfig(colours));
  const inline: Record<string, unknown> = { ...(copy.datasets ?? {}) };
  for (const [name, input] of Object.entries(datasets)) inline[name] = toRows(input);
  if (Object.keys(inline).length > 0) copy.datasets = inline;

  const result = await embed(target, copy, {
    actions: false,
    renderer: options.renderer ?? "svg",
  });
  const { view } = result;
  const cancels: (() => void)[] = [];

  if (options.onClick !== undefined) {
    const onClick = options.onClick;
    view.addEventListener("click", (_event, item) => {
      const datum = cleanDatum(item?.datum);
      if (Object.keys(datum).length > 0) onClick(datum);
    });
  }

  if (options.onSelection !== undefined) {
    const onSelection = options.onSelection;
    const waitMs = options.selectionWaitMs ?? 50;
    for (const name of selectionNames(copy)) {
      const report = debounce(
        () => {
          let store: unknown = null;
          try {
            store = view.data(`${name}_store`);
          } catch {
            // Some parameter kinds keep no store; the signal value alone is still useful.
          }
          onSelection(name, { value: toJsonSafe(view.signal(name)), store: toJsonSafe(store) });
        },
        waitMs,
        waitMs * 10,
      );
      view.addSignalListener(name, report);
      cancels.push(report.cancel);
    }
  }

  return {
    result,
    async setDatasets(next: Record<string, DatasetInput>): Promise<void> {
      for (const [name, input] of Object.entries(next)) view.data(name, toRows(input));
      await view.runAsync();
    },
    finalize(): void {
      for (const cancel of cancels) cancel();
      result.finalize();
    },
  };
}
