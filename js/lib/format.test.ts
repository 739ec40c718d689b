import { describe, expect, it } from "vitest";
import { escapeHtml, formatDuration, formatNumber, formatRelativeTime, formatTimestamp } from "./format";

describe("formatNumber", () => {
  it.each([
    [0, "0"],
    [42, "42"],
    [-1234567, "-1,234,567"],
    [0.123456, "0.1235"],
    [0.5, "0.5"],
    [1.0001, "1"],
    [12.34567, "12.35"],
    [12345.678, "12,346"],
    [-999.95, "-1,000"],
    [2.5e7 + 0.5, "2.5e+7"],
    [0.0000123, "1.23e-5"],
    [1e-5, "1e-5"],
    [1e20, "1e+20"],
    [Number.NaN, "NaN"],
    [Number.POSITIVE_INFINITY, "∞"],
    [Number.NEGATIVE_INFINITY, "-∞"],
    [null, "—"],
    [undefined, "—"],
  ])("%s -> %s", (value, expected) => {
    expect(formatNumber(value)).toBe(expected);
  });

  it("formats BigInt exactly", () => {
    expect(formatNumber(2n ** 60n)).toBe("1,152,921,504,606,846,976");
  });

  it("honours the number of significant digits", () => {
    expect(formatNumber(Math.PI, { digits: 2 })).toBe("3.1");
    expect(formatNumber(Math.PI, { digits: 6 })).toBe("3.14159");
  });
});

describe("formatDuration", () => {
  it.each([
    [850, "850 ms"],
    [12_340, "12.3 s"],
    [245_000, "4m 05s"],
    [2 * 3600_000 + 3 * 60_000, "2h 03m"],
    [3 * 86_400_000 + 4 * 3600_000, "3d 04h"],
    [-1500, "-1.5 s"],
    [null, "—"],
    [Number.NaN, "—"],
  ])("%s -> %s", (value, expected) => {
    expect(formatDuration(value)).toBe(expected);
  });
});

describe("formatTimestamp", () => {
  it("formats UTC", () => {
    expect(formatTimestamp(Date.UTC(2026, 0, 2, 3, 4, 5), { utc: true })).toBe("2026-01-02 03:04:05");
  });

  it("formats local time by default", () => {
    const date = new Date(2026, 10, 27, 6, 45, 9);
    expect(formatTimestamp(date.getTime())).toBe("2026-11-27 06:45:09");
  });

  it("marks missing values", () => {
    expect(formatTimestamp(undefined)).toBe("—");
  });
});

describe("formatRelativeTime", () => {
  const now = Date.UTC(2026, 10, 27, 12);
  it.each([
    [now - 10_000, "just now"],
    [now - 5 * 60_000, "5 min ago"],
    [now - 3 * 3600_000, "3 h ago"],
    [now - 2 * 86_400_000, "2 d ago"],
    [now + 60_000, "in the future"],
  ])("%s", (value, expected) => {
    expect(formatRelativeTime(value, now)).toBe(expected);
  });
});

describe("escapeHtml", () => {
  it("escapes markup characters", () => {
    expect(escapeHtml(`<img src=x onerror="alert('x')">&`)).toBe(
      "&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;",
    );
  });

  it("stringifies non-strings", () => {
    expect(escapeHtml(3)).toBe("3");
  });
});
