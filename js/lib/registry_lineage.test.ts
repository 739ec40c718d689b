import { describe, expect, it } from "vitest";
import { lineageLayout } from "./registry_lineage";
import type { Lineage } from "./registry_types";

function lineage(overrides: Partial<Lineage> = {}): Lineage {
  return {
    key: "digits/2",
    name: "digits",
    version: 2,
    source: "runs:/r1/model",
    artifact_path: "model",
    logged_model_id: null,
    run: { run_id: "r1", run_name: "train", experiment_id: "0", status: "FINISHED", git_commit: null, code: {}, environment: {} },
    datasets: [
      { name: "digits", digest: "d1", source: "s3://d", source_type: "s3", context: "training", schema: {}, profile: {} },
      { name: "holdout", digest: "h1", source: "s3://h", source_type: "s3", context: "", schema: {}, profile: {} },
    ],
    aliases: ["champion"],
    past_aliases: ["challenger"],
    moves: [],
    ...overrides,
  };
}

describe("lineageLayout", () => {
  it("puts datasets, run, version and aliases in columns, each dataset feeding the run", () => {
    const layout = lineageLayout(lineage());
    const at = Object.fromEntries(layout.nodes.map((n) => [n.id, [n.column, n.row]]));
    expect(at).toEqual({ "dataset:0": [0, 0], "dataset:1": [0, 1], run: [1, 0], version: [2, 0], "alias:champion": [3, 0], "alias:challenger": [3, 1] });
    expect(layout.edges).toEqual([
      { from: "dataset:0", to: "run", past: false },
      { from: "dataset:1", to: "run", past: false },
      { from: "run", to: "version", past: false },
      { from: "version", to: "alias:champion", past: false },
      { from: "version", to: "alias:challenger", past: true },
    ]);
    expect([layout.columns, layout.rows]).toEqual([4, 2]);
    expect(layout.nodes.find((n) => n.id === "dataset:1")?.sub).toBe("input"); // no context said
  });

  it("puts the logged model between the run and the version", () => {
    const layout = lineageLayout(lineage({ logged_model_id: "m-abc", datasets: [], aliases: [], past_aliases: [] }));
    expect(layout.nodes.map((n) => [n.id, n.column])).toEqual([["run", 0], ["model", 1], ["version", 2]]);
    expect(layout.edges.map((e) => `${e.from}>${e.to}`)).toEqual(["run>model", "model>version"]);
    expect(layout.columns).toBe(3);
  });

  it("draws a version of a folder outside any run alone", () => {
    const layout = lineageLayout(lineage({ run: null, datasets: [], aliases: [], past_aliases: [] }));
    expect(layout.nodes.map((n) => n.id)).toEqual(["version"]);
    expect(layout.edges).toEqual([]);
  });
});
