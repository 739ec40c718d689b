import { describe, expect, it } from "vitest";
import { PageCache, firstSort, nextSort, pagesFor, visibleRange } from "./table_model";

describe("visibleRange", () => {
  it("covers the viewport plus overscan, clamped to the rows", () => {
    expect(visibleRange(0, 260, 26, 100_000, 5)).toEqual({ start: 0, end: 15 });
    expect(visibleRange(26 * 50_000, 260, 26, 100_000, 5)).toEqual({ start: 49_995, end: 50_015 });
    expect(visibleRange(26 * 99_995, 260, 26, 100_000, 5)).toEqual({ start: 99_990, end: 100_000 });
  });

  it("is empty without rows", () => {
    expect(visibleRange(0, 400, 26, 0)).toEqual({ start: 0, end: 0 });
    expect(visibleRange(-50, 400, 26, 3, 0)).toEqual({ start: 0, end: 3 });
  });
});

describe("pagesFor", () => {
  it("lists the pages a range touches", () => {
    expect(pagesFor({ start: 0, end: 100 }, 100)).toEqual([0]);
    expect(pagesFor({ start: 95, end: 205 }, 100)).toEqual([0, 1, 2]);
    expect(pagesFor({ start: 10, end: 10 }, 100)).toEqual([]);
  });
});

describe("PageCache", () => {
  const rows = (n: number, from = 0) => Array.from({ length: n }, (_v, i) => ({ run_id: `r${from + i}` }));

  it("serves rows of stored pages and knows what is missing", () => {
    const cache = new PageCache(100, 10, 1);
    expect(cache.missing({ start: 0, end: 250 })).toEqual([0, 1, 2]);
    const gen = cache.request(1);
    expect(cache.missing({ start: 0, end: 250 })).toEqual([0, 2]);
    expect(cache.store(1, rows(100, 100), gen)).toBe(true);
    expect(cache.row(150)).toEqual({ run_id: "r150" });
    expect(cache.row(50)).toBeUndefined();
    expect(cache.pendingCount).toBe(0);
  });

  it("refuses rows of an older generation after a reset", () => {
    const cache = new PageCache(100, 10, 1);
    const gen = cache.request(0);
    cache.reset(2);
    expect(cache.store(0, rows(100), gen)).toBe(false);
    expect(cache.row(0)).toBeUndefined();
    expect(cache.missing({ start: 0, end: 100 })).toEqual([0]);
  });

  it("drops the least recently used pages beyond its bound", () => {
    const cache = new PageCache(10, 2, 0);
    cache.store(0, rows(10), 0);
    cache.store(1, rows(10, 10), 0);
    cache.touch({ start: 0, end: 5 });
    cache.store(2, rows(10, 20), 0);
    expect(cache.hasPage(0)).toBe(true);
    expect(cache.hasPage(1)).toBe(false);
    expect(cache.size).toBe(2);
  });

  it("lets an abandoned request be asked again", () => {
    const cache = new PageCache(100, 10, 3);
    const gen = cache.request(4);
    cache.abandon(4, gen);
    expect(cache.missing({ start: 400, end: 450 })).toEqual([4]);
  });
});

describe("nextSort", () => {
  it("cycles a header through ascending, descending and unsorted", () => {
    expect(nextSort([], "metrics.acc", false)).toEqual([{ column: "metrics.acc", descending: false }]);
    expect(nextSort([{ column: "metrics.acc", descending: false }], "metrics.acc", false)).toEqual([
      { column: "metrics.acc", descending: true },
    ]);
    expect(nextSort([{ column: "metrics.acc", descending: true }], "metrics.acc", false)).toEqual([]);
  });

  it("replaces other keys on a plain click and adds one with shift", () => {
    const sort = [{ column: "params.lr", descending: false }];
    expect(nextSort(sort, "metrics.acc", false)).toEqual([{ column: "metrics.acc", descending: false }]);
    expect(nextSort(sort, "metrics.acc", true)).toEqual([...sort, { column: "metrics.acc", descending: false }]);
    const two = [...sort, { column: "metrics.acc", descending: false }];
    expect(nextSort(two, "params.lr", true)).toEqual([
      { column: "params.lr", descending: true },
      { column: "metrics.acc", descending: false },
    ]);
    expect(nextSort([{ column: "params.lr", descending: true }, two[1]!], "params.lr", true)).toEqual([two[1]]);
  });

  it("starts descending when asked: descending, ascending, unsorted", () => {
    const acc = "metrics.val_acc";
    expect(nextSort([], acc, false, true)).toEqual([{ column: acc, descending: true }]);
    expect(nextSort([{ column: acc, descending: true }], acc, false, true)).toEqual([{ column: acc, descending: false }]);
    expect(nextSort([{ column: acc, descending: false }], acc, false, true)).toEqual([]);
    const lr = { column: "params.lr", descending: false };
    expect(nextSort([lr], acc, true, true)).toEqual([lr, { column: acc, descending: true }]);
  });
});

describe("firstSort", () => {
  it("sorts a metric best first and anything else ascending", () => {
    expect(firstSort({ entity: "metric", better: "lower" })).toEqual({ descending: false });
    expect(firstSort({ entity: "metric", better: "higher" })).toEqual({ descending: true });
    expect(firstSort({ entity: "metric" })).toEqual({ descending: true });
    expect(firstSort({ entity: "param" })).toEqual({ descending: false });
    expect(firstSort({ entity: "attribute" })).toEqual({ descending: false });
  });
});
