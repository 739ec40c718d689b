import { describe, expect, it } from "vitest";
import { keyAction, scrollToShow } from "./table_keys";

describe("keyAction", () => {
  it("moves the cursor with arrows, pages, Home and End, within the rows", () => {
    expect(keyAction({ key: "ArrowDown" }, null, 10, 5)).toEqual({ kind: "move", index: 0 });
    expect(keyAction({ key: "ArrowDown" }, 9, 10, 5)).toEqual({ kind: "move", index: 9 });
    expect(keyAction({ key: "ArrowUp" }, 0, 10, 5)).toEqual({ kind: "move", index: 0 });
    expect(keyAction({ key: "PageDown" }, 2, 10, 5)).toEqual({ kind: "move", index: 7 });
    expect(keyAction({ key: "PageUp" }, 2, 10, 5)).toEqual({ kind: "move", index: 0 });
    expect(keyAction({ key: "End" }, 2, 10, 5)).toEqual({ kind: "move", index: 9 });
    expect(keyAction({ key: "Home" }, 2, 10, 5)).toEqual({ kind: "move", index: 0 });
  });
  it("selects with Space, opens with Enter, copies with Ctrl or Cmd+C", () => {
    expect(keyAction({ key: " " }, 3, 10, 5)).toEqual({ kind: "toggle" });
    expect(keyAction({ key: " " }, null, 10, 5)).toEqual({ kind: "none" });
    expect(keyAction({ key: "Enter" }, 3, 10, 5)).toEqual({ kind: "open" });
    expect(keyAction({ key: "c", ctrlKey: true }, null, 10, 5)).toEqual({ kind: "copy" });
    expect(keyAction({ key: "C", metaKey: true }, 1, 10, 5)).toEqual({ kind: "copy" });
    expect(keyAction({ key: "ArrowDown", ctrlKey: true }, 1, 10, 5)).toEqual({ kind: "none" });
    expect(keyAction({ key: "ArrowDown" }, null, 0, 5)).toEqual({ kind: "none" });
  });
});

describe("scrollToShow", () => {
  it("scrolls only as far as needed to show the row below the header", () => {
    // rows 26 px from 60 (header 60 px tall), a 200 px view
    expect(scrollToShow(0, 26, 60, 60, 0, 200)).toBe(0);
    expect(scrollToShow(10, 26, 60, 60, 0, 200)).toBe(60 + 11 * 26 - 200);
    expect(scrollToShow(2, 26, 60, 60, 300, 200)).toBe(52);
    expect(scrollToShow(10, 26, 60, 60, 250, 200)).toBe(250);
  });
});
