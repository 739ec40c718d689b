import { describe, expect, it } from "vitest";
import { applyClick, headerCheck, union } from "./table_selection";

const ids = ["a", "b", "c", "d", "e"];
const idAt = (i: number) => ids[i];

describe("applyClick", () => {
  it("selects only the clicked row on a plain click", () => {
    expect(applyClick(["a", "c"], 0, { index: 3, runId: "d", shift: false, toggle: false }, idAt)).toEqual({
      kind: "set",
      ids: ["d"],
      anchor: 3,
    });
  });

  it("toggles one row with ctrl/cmd", () => {
    const click = { index: 2, runId: "c", shift: false, toggle: true };
    expect(applyClick(["a"], 0, click, idAt)).toEqual({ kind: "set", ids: ["a", "c"], anchor: 2 });
    expect(applyClick(["a", "c"], 0, click, idAt)).toEqual({ kind: "set", ids: ["a"], anchor: 2 });
  });

  it("selects a loaded range with shift, in either direction", () => {
    expect(applyClick(["a"], 3, { index: 1, runId: "b", shift: true, toggle: false }, idAt)).toEqual({
      kind: "set",
      ids: ["b", "c", "d"],
      anchor: 3,
    });
    expect(applyClick(["e"], 0, { index: 1, runId: "b", shift: true, toggle: true }, idAt)).toEqual({
      kind: "set",
      ids: ["e", "a", "b"],
      anchor: 0,
    });
  });

  it("hands a range with unloaded rows to Python", () => {
    const sparse = (i: number) => (i < 2 ? ids[i] : undefined);
    expect(applyClick([], 0, { index: 4, runId: "e", shift: true, toggle: false }, sparse)).toEqual({
      kind: "range",
      start: 0,
      end: 4,
      add: false,
      anchor: 0,
    });
  });

  it("treats shift without an anchor as a plain click", () => {
    expect(applyClick([], null, { index: 2, runId: "c", shift: true, toggle: false }, idAt)).toEqual({
      kind: "set",
      ids: ["c"],
      anchor: 2,
    });
  });
});

describe("helpers", () => {
  it("unions without duplicates, keeping order", () => {
    expect(union(["a", "b"], ["b", "c", "a", "d"])).toEqual(["a", "b", "c", "d"]);
  });

  it("derives the select-all checkbox state", () => {
    expect(headerCheck(0, 10)).toBe("none");
    expect(headerCheck(3, 10)).toBe("some");
    expect(headerCheck(10, 10)).toBe("all");
    expect(headerCheck(2, 0)).toBe("none"); // runs selected, none of them shown
  });
});
