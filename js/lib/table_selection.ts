// Row selection as spreadsheets and file managers do it: click selects one row,
// ctrl/cmd-click toggles one, shift-click extends from the last clicked row. Pure logic.

export interface RowClick {
  index: number;
  runId: string;
  /** Shift held: extend from the anchor. */
  shift: boolean;
  /** Ctrl or cmd held (or the row's checkbox): toggle instead of replace. */
  toggle: boolean;
}

export type SelectionChange =
  /** The new selection, computed here. */
  | { kind: "set"; ids: string[]; anchor: number }
  /** A range whose rows are not all loaded: Python resolves it (`select` request). */
  | { kind: "range"; start: number; end: number; add: boolean; anchor: number };

/**
 * What a click on row `click.index` does to `selected`.
 *
 * `idAt` gives the run id at a row index when that row is loaded. A shift-click range
 * whose rows are all loaded is resolved here; otherwise the range goes to Python, which
 * holds the whole order.
 */
export function applyClick(
  selected: readonly string[],
  anchor: number | null,
  click: RowClick,
  idAt: (index: number) => string | undefined,
): SelectionChange {
  if (click.shift && anchor !== null) {
    const start = Math.min(anchor, click.index);
    const end = Math.max(anchor, click.index);
    const ids: string[] = [];
    for (let i = start; i <= end; i += 1) {
      const id = idAt(i);
      if (id === undefined) return { kind: "range", start, end, add: click.toggle, anchor };
      ids.push(id);
    }
    return { kind: "set", ids: click.toggle ? union(selected, ids) : ids, anchor };
  }
  if (click.toggle) {
    const ids = selected.includes(click.runId)
      ? selected.filter((id) => id !== click.runId)
      : [...selected, click.runId];
    return { kind: "set", ids, anchor: click.index };
  }
  return { kind: "set", ids: [click.runId], anchor: click.index };
}

/** `a` then the members of `b` not in `a`, each once. */
export function union(a: readonly string[], b: readonly string[]): string[] {
  const seen = new Set(a);
  const out = [...a];
  for (const id of b) {
    if (!seen.has(id)) {
      seen.add(id);
      out.push(id);
    }
  }
  return out;
}

export type HeaderCheck = "none" | "some" | "all";

/**
 * State of the select-all checkbox, of the rows shown: "all" once every one of the
 * `total` runs the filter passes is selected. `shownSelected` counts the selected runs
 * the filter passes; those it hides do not tick the box.
 */
export function headerCheck(shownSelected: number, total: number): HeaderCheck {
  if (shownSelected <= 0 || total <= 0) return "none";
  return shownSelected >= total ? "all" : "some";
}
