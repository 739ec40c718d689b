import { describe, expect, it } from "vitest";
import { chipView } from "./system_strip";

const chip = (value: number | null) => ({ key: "system/cpu_utilization_percentage", label: "CPU", value, timestamp: 0 });

describe("chipView", () => {
  it.each([
    [37.24, "37%", 37.24],
    [0, "0%", 0],
    [99.6, "100%", 99.6],
    [250, "250%", 100], // more than one core's worth: the text says so, the bar is full
    [-3, "-3%", 0],
    [null, "—", 0],
    [Number.NaN, "—", 0],
  ])("%s -> %s with a bar of %s", (value, text, width) => {
    const view = chipView(chip(value));
    expect(view.text).toBe(text);
    expect(view.width).toBe(width);
    expect(view.label).toBe("CPU");
    expect(view.title).toBe("system/cpu_utilization_percentage");
  });
});
