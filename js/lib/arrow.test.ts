import { tableFromArrays, tableToIPC, int64, utf8, float64, timestamp, TimeUnit } from "@uwdata/flechette";
import { describe, expect, it } from "vitest";
import { decodeColumns, decodeRows, safeNumber, toUint8Array } from "./arrow";

type Types = NonNullable<NonNullable<Parameters<typeof tableFromArrays>[1]>["types"]>;

/** IPC stream bytes as pyarrow's `ipc.new_stream` writes them. */
function ipcBytes(data: Record<string, unknown[]>, types: Types): Uint8Array {
  const bytes = tableToIPC(tableFromArrays(data, { types }), { format: "stream" });
  if (bytes === null) throw new Error("no bytes");
  return bytes;
}

/** Bytes as a traitlets Bytes value arrives: a DataView over part of a larger buffer. */
function asDataView(bytes: Uint8Array): DataView {
  const padded = new Uint8Array(bytes.byteLength + 16);
  padded.set(bytes, 8);
  return new DataView(padded.buffer, 8, bytes.byteLength);
}

describe("arrow", () => {
  const runs = {
    run_id: ["r1", "r2", "r3"],
    step: [1n, 2n, 3n],
    loss: [0.5, 0.25, null],
  };
  const types = { run_id: utf8(), step: int64(), loss: float64() };

  it("decodes rows from a DataView that does not start at offset 0", () => {
    const rows = decodeRows(asDataView(ipcBytes(runs, types)));
    expect(rows).toEqual([
      { run_id: "r1", step: 1, loss: 0.5 },
      { run_id: "r2", step: 2, loss: 0.25 },
      { run_id: "r3", step: 3, loss: null },
    ]);
    expect(typeof rows[0]?.["step"]).toBe("number");
  });

  it("decodes from an ArrayBuffer and a Uint8Array alike", () => {
    const bytes = ipcBytes(runs, types);
    const copy = bytes.slice().buffer;
    expect(decodeRows(copy)).toEqual(decodeRows(bytes));
  });

  it("decodes columns, turning exact int64 columns into Float64Array", () => {
    const columns = decodeColumns(ipcBytes(runs, types));
    expect(Array.from(columns["run_id"] ?? [])).toEqual(["r1", "r2", "r3"]);
    expect(columns["step"]).toBeInstanceOf(Float64Array);
    expect(Array.from(columns["step"] ?? [])).toEqual([1, 2, 3]);
  });

  it("keeps int64 values beyond 2^53 exact as BigInt", () => {
    const big = 2n ** 60n + 1n;
    const bytes = ipcBytes({ id: [1n, big] }, { id: int64() });
    expect(decodeRows(bytes)).toEqual([{ id: 1 }, { id: big }]);
    expect(Array.from(decodeColumns(bytes)["id"] ?? [])).toEqual([1, big]);
  });

  it("gives timestamps as epoch milliseconds", () => {
    const ms = Date.UTC(2026, 10, 27, 6, 45);
    const bytes = ipcBytes({ ts: [new Date(ms)] }, { ts: timestamp(TimeUnit.MILLISECOND) });
    expect(decodeRows(bytes)).toEqual([{ ts: ms }]);
  });

  it("treats empty or missing bytes as an empty table", () => {
    expect(decodeRows(new DataView(new ArrayBuffer(0)))).toEqual([]);
    expect(decodeRows(null)).toEqual([]);
    expect(decodeColumns(undefined)).toEqual({});
  });

  it("views memory without copying", () => {
    const buffer = new ArrayBuffer(10);
    const view = toUint8Array(new DataView(buffer, 2, 4));
    expect(view.buffer).toBe(buffer);
    expect([view.byteOffset, view.byteLength]).toEqual([2, 4]);
  });

  it("converts only safe BigInts", () => {
    expect(safeNumber(42n)).toBe(42);
    expect(safeNumber(-(2n ** 53n) + 1n)).toBe(Number.MIN_SAFE_INTEGER);
    expect(safeNumber(2n ** 53n)).toBe(2n ** 53n);
  });
});
