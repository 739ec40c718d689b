// Controls of the Compare widget: metric keys, x axis, smoothing, log scale, refresh.
//
// Plain DOM with textContent only (metric keys come from runs). Each control reports a
// change through a callback; `update` puts the model's values back without firing them.

export interface ToolbarState {
  metrics: string[];
  availableMetrics: string[];
  x: string;
  smoothing: number;
  logY: boolean;
  status: string;
}

export interface ToolbarCallbacks {
  onMetrics(metrics: string[]): void;
  onX(x: string): void;
  onSmoothing(value: number): void;
  onLogY(value: boolean): void;
  onRefresh(): void;
  /** Save the shown chart as `format` (png, svg or html). */
  onExport(format: string): void;
}

export interface Toolbar {
  element: HTMLElement;
  update(state: ToolbarState): void;
  setBusy(busy: boolean): void;
}

export const X_OPTIONS: readonly (readonly [string, string])[] = [
  ["step", "Step"],
  ["wall_time", "Wall time"],
  ["relative_time", "Relative time"],
];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className !== undefined) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function field(label: string, control: HTMLElement): HTMLLabelElement {
  const wrapper = el("label", "cb-field");
  wrapper.append(el("span", "cb-field-label", label), control);
  return wrapper;
}

/** The smoothing value as the slider shows it. */
export function formatSmoothing(value: number): string {
  return value <= 0 ? "off" : value.toFixed(2);
}

/** The next metric selection after toggling `key`; the last key cannot be removed. */
export function toggleMetric(current: readonly string[], key: string, available: readonly string[]): string[] {
  const chosen = new Set(current);
  if (chosen.has(key)) {
    if (chosen.size === 1) return [...current];
    chosen.delete(key);
  } else {
    chosen.add(key);
  }
  return available.filter((k) => chosen.has(k));
}

export function createToolbar(initial: ToolbarState, callbacks: ToolbarCallbacks): Toolbar {
  const element = el("div", "cb-toolbar");
  const metricsBox = el("div", "cb-metrics");
  metricsBox.setAttribute("role", "group");
  metricsBox.setAttribute("aria-label", "Metrics");

  const xSelect = el("select", "cb-x");
  for (const [value, label] of X_OPTIONS) {
    const option = el("option", undefined, label);
    option.value = value;
    xSelect.append(option);
  }
  xSelect.addEventListener("change", () => callbacks.onX(xSelect.value));

  const slider = el("input", "cb-smoothing");
  slider.type = "range";
  slider.min = "0";
  slider.max = "0.99";
  slider.step = "0.01";
  const sliderValue = el("output", "cb-smoothing-value");
  slider.addEventListener("input", () => {
    const value = Number(slider.value);
    sliderValue.textContent = formatSmoothing(value);
    callbacks.onSmoothing(value);
  });
  const smoothing = el("span", "cb-smoothing-box");
  smoothing.append(slider, sliderValue);

  const logY = el("input", "cb-log-y");
  logY.type = "checkbox";
  logY.addEventListener("change", () => callbacks.onLogY(logY.checked));

  const refresh = el("button", "cb-refresh", "↻ Refresh");
  refresh.type = "button";
  refresh.title = "Read the store again: points and runs logged since show up";
  refresh.addEventListener("click", () => callbacks.onRefresh());

  // "Save as": the shown chart, rendered by Python (vl-convert), downloaded here.
  const save = el("select", "cb-export");
  save.title = "Save the chart shown as PNG, SVG or a self-contained HTML page";
  for (const [value, label] of [["", "Save as…"], ["png", "PNG"], ["svg", "SVG"], ["html", "HTML"]] as const) {
    const option = el("option", undefined, label);
    option.value = value;
    save.append(option);
  }
  save.addEventListener("change", () => {
    const format = save.value;
    save.value = "";
    if (format) callbacks.onExport(format);
  });

  const status = el("span", "cb-status");
  status.setAttribute("aria-live", "polite");

  const controls = el("div", "cb-controls");
  controls.append(field("x axis", xSelect), field("Smoothing", smoothing), field("Log scale", logY), refresh, save, status);
  element.append(metricsBox, controls);

  let state = initial;
  const renderMetrics = (): void => {
    const chosen = new Set(state.metrics);
    metricsBox.replaceChildren(el("span", "cb-field-label", "Metrics"));
    for (const key of state.availableMetrics) {
      const chip = el("button", "cb-chip", key);
      chip.type = "button";
      chip.dataset["metric"] = key;
      chip.setAttribute("aria-pressed", String(chosen.has(key)));
      chip.addEventListener("click", () => {
        callbacks.onMetrics(toggleMetric(state.metrics, key, state.availableMetrics));
      });
      metricsBox.append(chip);
    }
  };

  const update = (next: ToolbarState): void => {
    state = next;
    renderMetrics();
    xSelect.value = next.x;
    // Leave the slider alone while it is being dragged: its value is the newer one.
    if (document.activeElement !== slider) slider.value = String(next.smoothing);
    sliderValue.textContent = formatSmoothing(Number(slider.value));
    logY.checked = next.logY;
    status.textContent = next.status;
  };
  update(initial);

  return {
    element,
    update,
    setBusy(busy: boolean): void {
      refresh.disabled = busy;
      element.classList.toggle("cb-busy", busy);
    },
  };
}

export interface SelectOption {
  value: string;
  label: string;
}

/** A labelled `<select>`; `onChange` gets the chosen value. */
export function selectField(
  label: string,
  options: readonly SelectOption[],
  value: string,
  onChange: (value: string) => void,
): HTMLLabelElement {
  const select = el("select");
  for (const option of options) {
    const node = el("option", undefined, option.label);
    node.value = option.value;
    select.append(node);
  }
  select.value = value;
  select.addEventListener("change", () => onChange(select.value));
  return field(label, select);
}

/** A labelled checkbox. */
export function checkboxField(label: string, checked: boolean, onChange: (checked: boolean) => void): HTMLLabelElement {
  const box = el("input");
  box.type = "checkbox";
  box.checked = checked;
  box.addEventListener("change", () => onChange(box.checked));
  return field(label, box);
}
