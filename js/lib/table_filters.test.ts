import { describe, expect, it } from "vitest";
import {
  columnRef,
  numberLiteral,
  quoteString,
  rangeFilter,
  splitColumn,
  valueFilter,
  withFilter,
  withoutFilter,
} from "./table_filters";

describe("columnRef", () => {
  it.each([
    ["metrics.acc", "metrics.acc"],
    ["params.model.depth", "params.model.depth"],
    ["tags.team name", "tags.`team name`"],
    ["metrics.val/loss", "metrics.`val/loss`"],
    ["params.lr-max", "params.`lr-max`"],
    ["status", "status"],
    ["start_time", "start_time"],
  ])("%s -> %s", (name, ref) => {
    expect(columnRef(name)).toBe(ref);
  });

  it("splits prefixed names only", () => {
    expect(splitColumn("tags.a.b")).toEqual(["tags", "a.b"]);
    expect(splitColumn("run_name")).toEqual([null, "run_name"]);
  });
});

describe("literals", () => {
  it("quotes strings so the grammar reads them back unchanged", () => {
    expect(quoteString("adam")).toBe("'adam'");
    expect(quoteString("it's")).toBe("'it''s'");
    expect(quoteString("C:\\data\\")).toBe("'C:\\\\data\\\\'");
    expect(quoteString("<img src=x onerror=alert(1)>")).toBe("'<img src=x onerror=alert(1)>'");
  });

  it("writes numbers that round-trip", () => {
    expect(numberLiteral(0.1 + 0.2)).toBe("0.30000000000000004");
    expect(numberLiteral(1750000000000)).toBe("1750000000000");
    expect(numberLiteral(-2.5e-7)).toBe("-2.5e-7");
    expect(() => numberLiteral(Number.NaN)).toThrow(RangeError);
  });
});

describe("summary filters", () => {
  it("turns a brushed range into a half-open clause", () => {
    const f = rangeFilter("metrics.acc", 0.5, 0.6, "number");
    expect(f.clause).toBe("metrics.acc >= 0.5 and metrics.acc < 0.6");
    expect(f.label).toBe("acc in [0.5, 0.6)");
    expect([f.lo, f.hi]).toEqual([0.5, 0.6]);
  });

  it("turns a clicked value into an equality or a null test", () => {
    expect(valueFilter("params.opt", "adam").clause).toBe("params.opt = 'adam'");
    expect(valueFilter("tags.team", null).clause).toBe("tags.team IS NULL");
    expect(valueFilter("status", "FAILED").label).toBe("status = FAILED");
  });

  it("keeps one filter per column", () => {
    const a = valueFilter("params.opt", "adam");
    const b = rangeFilter("metrics.acc", 0, 1, "number");
    const c = valueFilter("params.opt", "sgd");
    expect(withFilter(withFilter([a], b), c)).toEqual([b, c]);
    expect(withoutFilter([a, b], 0)).toEqual([b]);
  });
});
