import { describe, expect, it } from "vitest";
import { clampWidth, moveColumn } from "./table_columns";

const columns = ["run_name", "status", "metrics.acc", "params.lr"];

describe("moveColumn", () => {
  it("moves a column to the left of the one it is dropped on", () => {
    expect(moveColumn(columns, "params.lr", "status")).toEqual(["run_name", "params.lr", "status", "metrics.acc"]);
  });
  it("moves a column to the right, after the one it is dropped on", () => {
    expect(moveColumn(columns, "status", "metrics.acc")).toEqual(["run_name", "metrics.acc", "status", "params.lr"]);
  });
  it("keeps the pinned run name first", () => {
    expect(moveColumn(columns, "metrics.acc", "run_name")).toEqual(["run_name", "metrics.acc", "status", "params.lr"]);
    expect(moveColumn(columns, "run_name", "params.lr")).toEqual(columns);
  });
  it("ignores unknown columns", () => {
    expect(moveColumn(columns, "nope", "status")).toEqual(columns);
  });
});

describe("clampWidth", () => {
  it("keeps widths in bounds, whole pixels", () => {
    expect(clampWidth(3)).toBe(48);
    expect(clampWidth(120.6)).toBe(121);
    expect(clampWidth(5000)).toBe(800);
  });
});
