import { float64, int64, list, struct, tableFromArrays, tableToIPC, utf8 } from "@uwdata/flechette";
import { describe, expect, it } from "vitest";
import { decodeVersions, versionKey } from "./registry_types";

function ipc(columns: Record<string, unknown[]>, types: Record<string, unknown>): DataView {
  const table = tableFromArrays(columns as never, { types: types as never });
  const bytes = tableToIPC(table, { format: "stream" }) as Uint8Array;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

describe("decodeVersions", () => {
  it("gives plain rows: numbers for versions, arrays for aliases and tags", () => {
    const bytes = ipc(
      {
        version: [2n, 1n],
        aliases: [["champion", "prod"], []],
        tags: [[{ key: "validated", value: "yes" }], []],
        "metrics.acc": [0.91, null],
      },
      {
        version: int64(),
        aliases: list(utf8()),
        tags: list(struct({ key: utf8(), value: utf8() })),
        "metrics.acc": float64(),
      },
    );
    const rows = decodeVersions(bytes);
    expect(rows.map((r) => r.version)).toEqual([2, 1]);
    expect(rows[0]?.aliases).toEqual(["champion", "prod"]);
    expect(Array.isArray(rows[1]?.aliases)).toBe(true);
    expect(rows[0]?.tags).toEqual([{ key: "validated", value: "yes" }]);
    expect(rows[0]?.["metrics.acc"]).toBe(0.91);
    expect(rows[1]?.["metrics.acc"]).toBeNull();
  });

  it("is empty for no bytes", () => {
    expect(decodeVersions(null)).toEqual([]);
    expect(decodeVersions(new DataView(new ArrayBuffer(0)))).toEqual([]);
  });
});

describe("versionKey", () => {
  it("joins a model name and a version with '/', which names cannot hold", () => {
    expect(versionKey("digits", 3)).toBe("digits/3");
  });
});
