import { describe, expect, it } from "vitest";
import { groupTags } from "./table_detail";

describe("groupTags", () => {
  it("puts the captured source and environment apart from the other tags", () => {
    const grouped = groupTags([
      { key: "canvasback.source.git.commit", value: "abc123" },
      { key: "canvasback.env.python", value: "3.11.7" },
      { key: "mlflow.runName", value: "bold-heron-1" },
      { key: "canvasback.env.lib.numpy", value: "2.4.6" },
      { key: "team", value: "vision" },
    ]);
    expect(grouped.source).toEqual([{ key: "git.commit", value: "abc123" }]);
    expect(grouped.environment).toEqual([
      { key: "python", value: "3.11.7" },
      { key: "lib.numpy", value: "2.4.6" },
    ]);
    expect(grouped.other.map((t) => t.key)).toEqual(["mlflow.runName", "team"]);
  });

  it("leaves a run without capture with its tags only", () => {
    const grouped = groupTags([{ key: "canvasback.sourcery", value: "x" }]);
    expect(grouped.source).toEqual([]);
    expect(grouped.environment).toEqual([]);
    expect(grouped.other).toHaveLength(1);
  });
});
