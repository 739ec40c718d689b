import { describe, expect, it } from "vitest";
import { columnSections, isSystemTag } from "./table_menus";
import { placeMenu } from "./table_popover";
import { countText } from "./table_toolbar";
import type { ColumnInfo } from "./table_types";

const column = (name: string, entity: ColumnInfo["entity"]): ColumnInfo => ({ name, entity, type: "text" });
const COLUMNS = [
  column("run_name", "attribute"),
  column("metrics.val_loss", "metric"),
  column("params.lr", "param"),
  column("tags.team", "tag"),
  column("tags.canvasback.env.python", "tag"),
  column("tags.mlflow.source.name", "tag"),
  column("tags.mlflowish", "tag"),
];

describe("isSystemTag", () => {
  it("is a tag whose key begins canvasback. or mlflow.", () => {
    expect(isSystemTag("tags.canvasback.env.python")).toBe(true);
    expect(isSystemTag("tags.mlflow.runName")).toBe(true);
    expect(isSystemTag("tags.mlflowish")).toBe(false);
    expect(isSystemTag("params.mlflow.x")).toBe(false);
  });
});

describe("columnSections", () => {
  it("puts system tags in a collapsible section of their own, last", () => {
    const sections = columnSections(COLUMNS, "");
    expect(sections.map((s) => [s.id, s.items.map((c) => c.name), s.collapsible])).toEqual([
      ["attribute", ["run_name"], false],
      ["metric", ["metrics.val_loss"], false],
      ["param", ["params.lr"], false],
      ["tag", ["tags.team", "tags.mlflowish"], false],
      ["system", ["tags.canvasback.env.python", "tags.mlflow.source.name"], true],
    ]);
  });

  it("keeps the sections that hold a match, in any case", () => {
    expect(columnSections(COLUMNS, " PYTHON ").map((s) => [s.id, s.items.length])).toEqual([["system", 1]]);
    expect(columnSections(COLUMNS, "nothing")).toEqual([]);
  });
});

describe("placeMenu", () => {
  const view = { width: 1000, height: 800 };

  it("opens below its button, as tall as the room left", () => {
    expect(placeMenu({ top: 20, bottom: 46, left: 300 }, view, 300)).toEqual({ top: 50, left: 300, maxHeight: 742 });
  });

  it("opens above when there is little room below and more above", () => {
    expect(placeMenu({ top: 700, bottom: 726, left: 300 }, view, 300)).toEqual({ bottom: 104, left: 300, maxHeight: 688 });
  });

  it("stays inside the window sideways", () => {
    expect(placeMenu({ top: 20, bottom: 46, left: 900 }, view, 300).left).toBe(692);
    expect(placeMenu({ top: 20, bottom: 46, left: -40 }, view, 300).left).toBe(8);
  });
});

describe("countText", () => {
  it("says how many selected runs the filter hides", () => {
    expect(countText(2, 5, 1, true, false)).toBe("2 runs · 5 selected, 4 hidden by the filter");
    expect(countText(6, 5, 5, false, false)).toBe("6 runs · 5 selected");
    expect(countText(6, 5, 3, false, false)).toBe("6 runs · 5 selected, 2 not in this table");
    expect(countText(1, 0, 0, true, true)).toBe("1 run (grouped)");
  });
});
