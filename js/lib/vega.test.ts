import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanDatum, debounce, selectionNames, toJsonSafe } from "./vega";

describe("cleanDatum", () => {
  it("keeps scalar fields only", () => {
    const datum = {
      x: "a",
      y: 3,
      ok: true,
      none: null,
      big: 7n,
      when: new Date(5),
      bad: Number.NaN,
      nested: { a: 1 },
      list: [1, 2],
      [Symbol("vega_id")]: 12,
    };
    expect(cleanDatum(datum)).toEqual({ x: "a", y: 3, ok: true, none: null, big: 7, when: 5, bad: null });
  });

  it("gives an empty datum for non-objects", () => {
    expect(cleanDatum(undefined)).toEqual({});
    expect(cleanDatum(3)).toEqual({});
  });
});

describe("selectionNames", () => {
  it("finds selection params at the top and in nested views, not plain params", () => {
    const spec = {
      params: [{ name: "brush", select: "interval", views: ["v1"] }, { name: "smoothing", value: 0.5 }],
      vconcat: [
        { layer: [{ params: [{ name: "pick", select: { type: "point" } }] }] },
        { params: [{ name: "brush", select: "interval" }] },
      ],
    };
    expect(selectionNames(spec).sort()).toEqual(["brush", "pick"]);
  });

  it("finds none in a spec without params", () => {
    expect(selectionNames({ mark: "bar" })).toEqual([]);
  });
});

describe("toJsonSafe", () => {
  it("copies and converts BigInt", () => {
    const value = { a: [1n, 2n ** 60n], b: "x" };
    expect(toJsonSafe(value)).toEqual({ a: [1, (2n ** 60n).toString()], b: "x" });
    expect(toJsonSafe(undefined)).toBeNull();
  });
});

describe("debounce", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("fires once after calls stop", () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const debounced = debounce(fn, 50, 500);
    debounced();
    debounced();
    vi.advanceTimersByTime(49);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it("fires at least every maxWait while calls continue", () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const debounced = debounce(fn, 50, 200);
    for (let t = 0; t < 400; t += 20) {
      debounced();
      vi.advanceTimersByTime(20);
    }
    expect(fn.mock.calls.length).toBeGreaterThanOrEqual(2);
  });

  it("can be cancelled", () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const debounced = debounce(fn, 50, 200);
    debounced();
    debounced.cancel();
    vi.advanceTimersByTime(500);
    expect(fn).not.toHaveBeenCalled();
  });
});
