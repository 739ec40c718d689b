// Column resize and reorder in the run table's header. The run name column is pinned:
// it stays first (and sticky, see table_rows.css) and other columns move after it.
// Widths go to the `column_widths` trait and the order to `columns`, so both survive a
// re-render and Python sees them.

export const PINNED = "run_name";
export const MIN_WIDTH = 48;
export const MAX_WIDTH = 800;
const DRAG_TYPE = "application/x-canvasback-column";

/** `columns` with `from` moved to where `to` is; nothing moves before the pinned column. */
export function moveColumn(columns: readonly string[], from: string, to: string, pinned = PINNED): string[] {
  if (from === to || from === pinned || !columns.includes(from) || !columns.includes(to)) return [...columns];
  const rest = columns.filter((name) => name !== from);
  let at = rest.indexOf(to);
  // Dropped on a column to its right: land after it, as a drag to the right reads.
  if (columns.indexOf(from) < columns.indexOf(to)) at += 1;
  if (rest[0] === pinned) at = Math.max(at, 1);
  rest.splice(at, 0, from);
  return rest;
}

export function clampWidth(width: number): number {
  return Math.round(Math.min(Math.max(width, MIN_WIDTH), MAX_WIDTH));
}

export interface ColumnToolCallbacks {
  /** While dragging a resize handle (`done` false) and once on release (`done` true). */
  onResize: (column: string, width: number, done: boolean) => void;
  onMove: (from: string, to: string) => void;
}

/** Adds a resize handle to each header cell and makes the unpinned ones draggable. */
export function attachColumnTools(head: HTMLElement, widths: ReadonlyMap<string, number>, callbacks: ColumnToolCallbacks): void {
  for (const cell of head.querySelectorAll<HTMLElement>(".cb-rt-hcell[data-column]")) {
    const column = cell.dataset["column"] ?? "";
    const handle = document.createElement("div");
    handle.className = "cb-rt-resize";
    handle.title = "Drag to resize";
    handle.setAttribute("role", "separator");
    handle.setAttribute("aria-orientation", "vertical");
    let start: { x: number; width: number } | null = null;
    handle.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      event.stopPropagation();
      start = { x: event.clientX, width: widths.get(column) ?? cell.getBoundingClientRect().width };
      handle.setPointerCapture?.(event.pointerId);
      handle.classList.add("active");
    });
    handle.addEventListener("pointermove", (event) => {
      if (start !== null) callbacks.onResize(column, clampWidth(start.width + event.clientX - start.x), false);
    });
    const finish = (event: PointerEvent): void => {
      if (start === null) return;
      const width = clampWidth(start.width + event.clientX - start.x);
      start = null;
      handle.classList.remove("active");
      callbacks.onResize(column, width, true);
    };
    handle.addEventListener("pointerup", finish);
    handle.addEventListener("pointercancel", finish);
    handle.addEventListener("click", (event) => event.stopPropagation());
    handle.addEventListener("dragstart", (event) => event.preventDefault());
    cell.append(handle);

    if (column !== PINNED) {
      cell.draggable = true;
      cell.addEventListener("dragstart", (event) => {
        event.dataTransfer?.setData(DRAG_TYPE, column);
        event.dataTransfer?.setData("text/plain", column);
        cell.classList.add("dragging");
      });
      cell.addEventListener("dragend", () => cell.classList.remove("dragging"));
    }
    cell.addEventListener("dragover", (event) => {
      if (event.dataTransfer?.types.includes(DRAG_TYPE)) {
        event.preventDefault();
        cell.classList.add("drop-target");
      }
    });
    cell.addEventListener("dragleave", () => cell.classList.remove("drop-target"));
    cell.addEventListener("drop", (event) => {
      cell.classList.remove("drop-target");
      const from = event.dataTransfer?.getData(DRAG_TYPE);
      if (!from) return;
      event.preventDefault();
      callbacks.onMove(from, column);
    });
  }
}
