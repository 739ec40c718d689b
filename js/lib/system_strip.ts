// The live views' system strip: a run's CPU, memory and GPUs as a line of small chips,
// each a label, a percentage and a bar. Python picks the chips from the run's latest
// `system/*` points (widgets/_system_strip.py); text goes in through textContent only.

/** One chip of the `system` trait of `LiveRun` and `LiveCell`. */
export interface SystemChip {
  key: string;
  label: string;
  /** A percentage; null when the point was not a finite number. */
  value: number | null;
  timestamp: number;
}

/** A chip's shown text and bar width (0-100). */
export interface ChipView {
  label: string;
  text: string;
  width: number;
  title: string;
}

/** What a chip shows: "37%", its bar clamped to 0-100, the metric's key as its title. */
export function chipView(chip: SystemChip): ChipView {
  const value = chip.value;
  const known = value !== null && Number.isFinite(value);
  return {
    label: chip.label,
    text: known ? `${Math.round(value)}%` : "—",
    width: known ? Math.min(Math.max(value, 0), 100) : 0,
    title: chip.key,
  };
}

/** Draw the chips into `strip` (emptied first); hidden when there are none. */
export function drawStrip(strip: HTMLElement, chips: readonly SystemChip[] | null | undefined): void {
  const nodes = (chips ?? []).map((chip) => {
    const view = chipView(chip);
    const node = document.createElement("span");
    node.className = "cb-live-sys";
    node.dataset["key"] = chip.key;
    node.title = view.title;
    const label = document.createElement("span");
    label.className = "cb-live-sys-label";
    label.textContent = view.label;
    const meter = document.createElement("span");
    meter.className = "cb-live-sys-meter";
    const fill = document.createElement("span");
    fill.className = "cb-live-sys-fill";
    fill.style.width = `${view.width}%`;
    meter.append(fill);
    const value = document.createElement("span");
    value.className = "cb-live-sys-value";
    value.textContent = view.text;
    node.append(label, meter, value);
    return node;
  });
  strip.replaceChildren(...nodes);
  strip.hidden = nodes.length === 0;
}
