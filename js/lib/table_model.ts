// Virtual scrolling bookkeeping: which rows are on screen, which pages they need, and a
// bounded cache of the pages Python sent. No DOM here, so it is unit-tested in node.
import type { Row } from "./arrow";
import type { ColumnInfo, SortSpec } from "./table_types";

export interface RowRange {
  /** First row index (inclusive). */
  start: number;
  /** Last row index (exclusive). */
  end: number;
}

/**
 * Rows intersecting the viewport, widened by `overscan` rows on each side so a slow
 * scroll never shows blank rows before the next page arrives.
 */
export function visibleRange(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  total: number,
  overscan = 8,
): RowRange {
  if (total <= 0 || rowHeight <= 0) return { start: 0, end: 0 };
  const first = Math.floor(Math.max(scrollTop, 0) / rowHeight);
  const last = Math.ceil((Math.max(scrollTop, 0) + Math.max(viewportHeight, 0)) / rowHeight);
  return {
    start: Math.min(Math.max(first - overscan, 0), total),
    end: Math.min(last + overscan, total),
  };
}

/** Indexes of the pages of `pageSize` rows that hold any row of `range`. */
export function pagesFor(range: RowRange, pageSize: number): number[] {
  if (range.end <= range.start) return [];
  const first = Math.floor(range.start / pageSize);
  const last = Math.floor((range.end - 1) / pageSize);
  const out: number[] = [];
  for (let page = first; page <= last; page += 1) out.push(page);
  return out;
}

/**
 * Pages of rows for one generation of the result (see the `generation` trait). A reply
 * for an older generation is refused, so rows of a previous filter never reappear; the
 * least recently used pages are dropped beyond `maxPages`.
 */
export class PageCache {
  readonly pageSize: number;
  readonly maxPages: number;
  #generation: number;
  #pages = new Map<number, Row[]>();
  #pending = new Set<number>();

  constructor(pageSize = 100, maxPages = 60, generation = 0) {
    this.pageSize = pageSize;
    this.maxPages = maxPages;
    this.#generation = generation;
  }

  get generation(): number {
    return this.#generation;
  }

  get size(): number {
    return this.#pages.size;
  }

  /** Forget every page; later replies must carry `generation`. */
  reset(generation: number): void {
    this.#generation = generation;
    this.#pages.clear();
    this.#pending.clear();
  }

  row(index: number): Row | undefined {
    const page = this.#pages.get(Math.floor(index / this.pageSize));
    return page?.[index % this.pageSize];
  }

  hasPage(page: number): boolean {
    return this.#pages.has(page);
  }

  /** Pages of `range` neither held nor requested, nearest the range's start first. */
  missing(range: RowRange): number[] {
    return pagesFor(range, this.pageSize).filter((p) => !this.#pages.has(p) && !this.#pending.has(p));
  }

  /** Mark a page requested; returns the generation the request belongs to. */
  request(page: number): number {
    this.#pending.add(page);
    return this.#generation;
  }

  /** A request failed or was dropped: it may be asked again. */
  abandon(page: number, generation: number): void {
    if (generation === this.#generation) this.#pending.delete(page);
  }

  /** Keep a page's rows; false (and nothing kept) if they belong to another generation. */
  store(page: number, rows: Row[], generation: number): boolean {
    if (generation !== this.#generation) return false;
    this.#pending.delete(page);
    this.#pages.delete(page);
    this.#pages.set(page, rows);
    while (this.#pages.size > this.maxPages) {
      const oldest = this.#pages.keys().next().value;
      if (oldest === undefined) break;
      this.#pages.delete(oldest);
    }
    return true;
  }

  /** Mark pages as recently used (a Map iterates in insertion order: re-insert). */
  touch(range: RowRange): void {
    for (const page of pagesFor(range, this.pageSize)) {
      const rows = this.#pages.get(page);
      if (rows === undefined) continue;
      this.#pages.delete(page);
      this.#pages.set(page, rows);
    }
  }

  get pendingCount(): number {
    return this.#pending.size;
  }
}

/**
 * Header click: the column's first direction, then the other, then unsorted; shift adds
 * a key. The first is descending where the biggest values come first best (`firstSort`).
 */
export function nextSort(sort: readonly SortSpec[], column: string, additive: boolean, firstDescending = false): SortSpec[] {
  const current = sort.find((s) => s.column === column);
  let next: SortSpec | null;
  if (current === undefined) next = { column, descending: firstDescending };
  else if (current.descending !== firstDescending) next = null;
  else next = { column, descending: !firstDescending };
  if (!additive) return next === null ? [] : [next];
  const others = sort.filter((s) => s.column !== column);
  if (next === null) return others;
  return current === undefined ? [...others, next] : sort.map((s) => (s.column === column ? next : s));
}

/**
 * Whether a header's first click sorts descending: a metric's best runs first (lower
 * first for a loss, higher for an accuracy or a metric whose goal is unknown); any
 * other column A to Z, oldest or smallest first.
 */
export function firstSort(info: Pick<ColumnInfo, "entity" | "better">): { descending: boolean } {
  return { descending: info.entity === "metric" && info.better !== "lower" };
}
