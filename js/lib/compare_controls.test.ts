import { describe, expect, it } from "vitest";
import { formatSmoothing, toggleMetric, X_OPTIONS } from "./compare_controls";

describe("toggleMetric", () => {
  const available = ["acc", "loss", "lr"];

  it("adds a key in the order of the available keys", () => {
    expect(toggleMetric(["loss"], "acc", available)).toEqual(["acc", "loss"]);
  });

  it("removes a chosen key", () => {
    expect(toggleMetric(["acc", "loss"], "acc", available)).toEqual(["loss"]);
  });

  it("never leaves no key chosen", () => {
    expect(toggleMetric(["loss"], "loss", available)).toEqual(["loss"]);
  });
});

describe("formatSmoothing", () => {
  it("shows off at zero and two decimals otherwise", () => {
    expect(formatSmoothing(0)).toBe("off");
    expect(formatSmoothing(0.6)).toBe("0.60");
  });
});

describe("X_OPTIONS", () => {
  it("offers the three axes Python accepts", () => {
    expect(X_OPTIONS.map(([value]) => value)).toEqual(["step", "wall_time", "relative_time"]);
  });
});
