import { describe, expect, it } from "vitest";
import { columnLabel, columnWidth, countLabel, describeColumn, formatBytes, formatCell } from "./table_format";
import type { ColumnInfo } from "./table_types";

const metric: ColumnInfo = { name: "metrics.acc", entity: "metric", type: "number" };
const numericParam: ColumnInfo = { name: "params.lr", entity: "param", type: "number" };
const tag: ColumnInfo = { name: "tags.team", entity: "tag", type: "text" };
const created: ColumnInfo = { name: "start_time", entity: "attribute", type: "time" };

describe("formatCell", () => {
  it("formats metrics as numbers, right-aligned", () => {
    expect(formatCell(0.912345, metric)).toEqual({ text: "0.9123", numeric: true, title: "0.912345" });
    expect(formatCell(null, metric)).toEqual({ text: "—", numeric: true });
  });

  it("keeps params as logged but aligns numeric ones right", () => {
    expect(formatCell("1e-3", numericParam)).toEqual({ text: "1e-3", numeric: true, title: "1e-3" });
    expect(formatCell("adam", tag).numeric).toBe(false);
  });

  it("formats times", () => {
    expect(formatCell(0, created, { utc: true }).text).toBe("1970-01-01 00:00:00");
    expect(formatCell(86_400_000n, created, { utc: true }).text).toBe("1970-01-02 00:00:00");
  });

  it("passes markup through as plain text (the DOM gets it via textContent)", () => {
    expect(formatCell("<img src=x onerror=alert(1)>", tag).text).toBe("<img src=x onerror=alert(1)>");
  });
});

describe("columns", () => {
  it("labels and sizes columns", () => {
    expect(columnLabel("metrics.val_acc")).toBe("val_acc");
    expect(columnLabel("start_time")).toBe("Created");
    expect(columnWidth(metric)).toBe(92);
    expect(columnWidth(created)).toBe(148);
    expect(columnWidth({ ...tag, name: `tags.${"x".repeat(60)}` })).toBe(220);
  });

  it("infers what an unknown column is from its name", () => {
    expect(describeColumn("metrics.loss", []).type).toBe("number");
    expect(describeColumn("tags.a", []).entity).toBe("tag");
    expect(describeColumn("end_time", []).type).toBe("time");
    expect(describeColumn("metrics.acc", [{ ...metric, type: "text" }]).type).toBe("text");
  });

  it("formats sizes and counts", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(2048)).toBe("2.0 kB");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5.0 MB");
    expect(countLabel(1)).toBe("1 run");
    expect(countLabel(12345)).toBe("12,345 runs");
  });
});
