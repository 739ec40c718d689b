import { describe, expect, it } from "vitest";
import { focusLabels, inExtent, runIndex, sameIds, selectedRuns } from "./compare_selection";

const index = runIndex([
  { run_id: "id-a", label: "alpha", color: "#111" },
  { run_id: "id-b", label: "beta", color: "#222" },
  { run_id: "id-c", label: "<b>gamma</b>", color: "#333" },
]);

describe("selectedRuns", () => {
  it("maps a point selection of labels to ids in comparison order", () => {
    expect(selectedRuns({ run: ["<b>gamma</b>", "alpha"] }, index)).toEqual(["id-a", "id-c"]);
  });

  it("ignores labels it does not know", () => {
    expect(selectedRuns({ run: ["nope", "beta"] }, index)).toEqual(["id-b"]);
  });

  it("treats an empty selection as no runs", () => {
    expect(selectedRuns({}, index)).toEqual([]);
    expect(selectedRuns(null, index)).toEqual([]);
    expect(selectedRuns(undefined, index)).toEqual([]);
  });

  it("matches a numeric brush against the rows", () => {
    const rows = [
      { run_id: "id-a", x: 0.001, y: 0.5 },
      { run_id: "id-b", x: 0.01, y: 0.9 },
      { run_id: "id-c", x: 0.1, y: 0.7 },
    ];
    expect(selectedRuns({ x: [0.005, 0.2], y: [0.6, 1] }, index, rows)).toEqual(["id-b", "id-c"]);
    // A brush dragged right to left gives its bounds reversed.
    expect(selectedRuns({ x: [0.2, 0.005], y: [1, 0.8] }, index, rows)).toEqual(["id-b"]);
  });

  it("matches a categorical brush by membership", () => {
    const rows = [
      { run_id: "id-a", x: "adam", y: 1 },
      { run_id: "id-b", x: "sgd", y: 2 },
    ];
    expect(selectedRuns({ x: ["sgd"], y: [0, 5] }, index, rows)).toEqual(["id-b"]);
  });
});

describe("helpers", () => {
  it("inExtent handles numbers and categories", () => {
    expect(inExtent(3, [1, 5])).toBe(true);
    expect(inExtent(6, [1, 5])).toBe(false);
    expect(inExtent("a", ["a", "b", "c"])).toBe(true);
    expect(inExtent(2, ["a", 2, "c"])).toBe(true);
  });

  it("focusLabels keeps known ids only", () => {
    expect(focusLabels(["id-b", "zzz"], index)).toEqual(["beta"]);
  });

  it("sameIds compares in order", () => {
    expect(sameIds(["a", "b"], ["a", "b"])).toBe(true);
    expect(sameIds(["a", "b"], ["b", "a"])).toBe(false);
  });
});
