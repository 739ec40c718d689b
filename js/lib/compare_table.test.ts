import { describe, expect, it } from "vitest";
import { summary, visibleRows, type ParamsTable } from "./compare_table";

const table: ParamsTable = {
  runs: [
    { run_id: "a", label: "alpha", color: "#111" },
    { run_id: "b", label: "beta", color: "#222" },
  ],
  rows: [
    { key: "lr", values: ["0.1", "0.01"], differs: true },
    { key: "seed", values: ["1", "1"], differs: false },
    { key: "opt", values: ["adam", null], differs: true },
  ],
};

describe("params table", () => {
  it("keeps only differing rows when asked", () => {
    expect(visibleRows(table, true).map((row) => row.key)).toEqual(["lr", "opt"]);
    expect(visibleRows(table, false)).toHaveLength(3);
  });

  it("summarises how many params differ", () => {
    expect(summary(table)).toBe("2 of 3 params differ");
    expect(summary({ runs: [], rows: [{ key: "x", values: [], differs: true }] })).toBe("1 of 1 param differs");
  });

  it("counts params apart from the tags of the runs' code and environment", () => {
    const tags = ["python", "platform", "user"].map((key, i) => ({
      key: `env · ${key}`,
      values: ["a", i === 0 ? "b" : "a"],
      differs: i === 0,
      kind: "provenance" as const,
    }));
    const params = table.rows.map((row) => ({ ...row, kind: "param" as const }));
    expect(summary({ ...table, rows: [...params, ...tags] })).toBe(
      "2 of 3 params differ · 1 of 3 code and environment tags differs",
    );
    expect(summary({ ...table, rows: tags })).toBe("No params · 1 of 3 code and environment tags differs");
  });
});
