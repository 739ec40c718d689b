// Arrow IPC stream bytes from Python (a traitlets Bytes value or a message buffer) to
// plain JavaScript rows and columns.
import { tableFromIPC, type Table } from "@uwdata/flechette";

/** What the widget model hands over: Bytes traits and message buffers arrive as DataView. */
export type ArrowBytes = DataView | ArrayBuffer | Uint8Array;

export type Row = Record<string, unknown>;

export type Columns = Record<string, ArrayLike<unknown>>;

/** A view over the same memory; no copy. */
export function toUint8Array(bytes: ArrowBytes): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A 64-bit integer as a number when no precision is lost, else the BigInt itself.
 *
 * Run counts, steps and row ids all fit in 2^53; an id that does not stays exact rather
 * than silently rounding to a neighbour.
 */
export function safeNumber(value: bigint): number | bigint {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(value)
    : value;
}

function normalize(value: unknown): unknown {
  if (typeof value === "bigint") return safeNumber(value);
  if (Array.isArray(value)) return value.map(normalize);
  if (ArrayBuffer.isView(value) && (value instanceof BigInt64Array || value instanceof BigUint64Array)) {
    return normalizeBigIntArray(value);
  }
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Row = {};
    for (const [key, item] of Object.entries(value)) out[key] = normalize(item);
    return out;
  }
  return value;
}

function normalizeBigIntArray(values: BigInt64Array | BigUint64Array): ArrayLike<unknown> {
  const limit = BigInt(Number.MAX_SAFE_INTEGER);
  for (const value of values) {
    if (value > limit || value < -limit) return Array.from(values, safeNumber);
  }
  return Float64Array.from(values, Number);
}

/**
 * Decode an Arrow IPC stream. 64-bit integers are read as BigInt so that an
 * out-of-range value does not throw; `rows` and `columns` convert them back.
 */
export function decodeTable(bytes: ArrowBytes): Table {
  return tableFromIPC(toUint8Array(bytes), { useBigInt: true });
}

/** Row objects; 64-bit integers become numbers where that is exact. */
export function tableRows(table: Table): Row[] {
  return table.toArray().map((row) => normalize(row) as Row);
}

/** Column arrays by name; an int64 column becomes a Float64Array when every value is exact. */
export function tableColumns(table: Table): Columns {
  const out: Columns = {};
  for (const [name, values] of Object.entries(table.toColumns())) {
    out[name] = normalizeColumn(values as ArrayLike<unknown>);
  }
  return out;
}

function normalizeColumn(values: ArrayLike<unknown>): ArrayLike<unknown> {
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    return normalizeBigIntArray(values);
  }
  if (Array.isArray(values)) return values.map(normalize);
  return values;
}

/** Rows from IPC bytes; empty bytes (an unset Bytes trait) give no rows. */
export function decodeRows(bytes: ArrowBytes | null | undefined): Row[] {
  if (bytes === null || bytes === undefined || bytes.byteLength === 0) return [];
  return tableRows(decodeTable(bytes));
}

/** Columns from IPC bytes; empty bytes give no columns. */
export function decodeColumns(bytes: ArrowBytes | null | undefined): Columns {
  if (bytes === null || bytes === undefined || bytes.byteLength === 0) return {};
  return tableColumns(decodeTable(bytes));
}
