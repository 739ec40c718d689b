// Keyboard use of the run table, as in a spreadsheet: arrows (Home, End, Page Up/Down)
// move a cursor row, Space selects or unselects it, Enter opens its detail, Ctrl/Cmd+C
// copies the selected rows as tab-separated text (Python builds it: the rows may not
// be loaded here). The table's scroll area takes the focus when a row is clicked.

export type KeyAction =
  | { kind: "move"; index: number }
  | { kind: "toggle" }
  | { kind: "open" }
  | { kind: "copy" }
  | { kind: "none" };

export interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
}

/** What a key press does with the cursor at `cursor` (null: none yet) of `total` rows. */
export function keyAction(event: KeyLike, cursor: number | null, total: number, pageRows: number): KeyAction {
  const command = event.ctrlKey === true || event.metaKey === true;
  if (command && event.key.toLowerCase() === "c") return { kind: "copy" };
  if (command || event.altKey === true || total <= 0) return { kind: "none" };
  const clamp = (index: number): KeyAction => ({ kind: "move", index: Math.min(Math.max(index, 0), total - 1) });
  const at = cursor ?? -1;
  switch (event.key) {
    case "ArrowDown":
      return clamp(at + 1);
    case "ArrowUp":
      return clamp(cursor === null ? 0 : at - 1);
    case "PageDown":
      return clamp(at + Math.max(pageRows, 1));
    case "PageUp":
      return clamp(at - Math.max(pageRows, 1));
    case "Home":
      return clamp(0);
    case "End":
      return clamp(total - 1);
    case " ":
    case "Spacebar":
      return cursor === null ? { kind: "none" } : { kind: "toggle" };
    case "Enter":
      return cursor === null ? { kind: "none" } : { kind: "open" };
    default:
      return { kind: "none" };
  }
}

/** The scrollTop that shows row `index` whole below a sticky header of `headHeight`. */
export function scrollToShow(index: number, rowHeight: number, bodyTop: number, headHeight: number, scrollTop: number, viewHeight: number): number {
  const top = bodyTop + index * rowHeight;
  if (top - headHeight < scrollTop) return Math.max(top - headHeight, 0);
  if (top + rowHeight > scrollTop + viewHeight) return top + rowHeight - viewHeight;
  return scrollTop;
}

/** Puts `text` on the clipboard; false when the page may not (then nothing is copied). */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Without clipboard permission (an iframe, an old browser): the selection route.
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
}
