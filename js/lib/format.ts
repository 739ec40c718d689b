// Display formatting shared by the widgets. Locale-independent on purpose: the same run
// reads the same on every machine, and tests can pin the exact text.

const MISSING = "—";

/** Thousands separators for an integer part given as digits (and an optional sign). */
function groupDigits(digits: string): string {
  const negative = digits.startsWith("-");
  const body = negative ? digits.slice(1) : digits;
  const grouped = body.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return negative ? `-${grouped}` : grouped;
}

export interface NumberFormat {
  /** Significant digits for non-integers (default 4). */
  digits?: number;
}

/**
 * A metric or parameter value for a table cell.
 *
 * Integers get thousands separators; other values keep `digits` significant digits, and
 * very large or very small magnitudes switch to exponent notation so a column of losses
 * near 1e-6 does not read as zeros.
 */
export function formatNumber(value: number | bigint | null | undefined, options: NumberFormat = {}): string {
  if (value === null || value === undefined) return MISSING;
  if (typeof value === "bigint") return groupDigits(value.toString());
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "-∞";
  const digits = options.digits ?? 4;
  const magnitude = Math.abs(value);
  if (Number.isInteger(value) && magnitude < 1e15) return groupDigits(value.toFixed(0));
  if (magnitude !== 0 && (magnitude >= 1e6 || magnitude < 1e-4)) {
    return value.toExponential(Math.max(digits - 1, 0)).replace(/\.?0+e/, "e");
  }
  // toPrecision would switch to exponent notation here ("1.235e+4"); round instead.
  if (magnitude >= 10 ** (digits - 1)) return groupDigits(Math.round(value).toFixed(0));
  const text = value.toPrecision(digits);
  const trimmed = text.includes(".") ? text.replace(/\.?0+$/, "") : text;
  const [whole = "", fraction] = trimmed.split(".");
  return fraction === undefined ? groupDigits(whole) : `${groupDigits(whole)}.${fraction}`;
}

/** A duration in milliseconds: "850 ms", "12.3 s", "4m 05s", "2h 03m", "3d 04h". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return MISSING;
  const sign = ms < 0 ? "-" : "";
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${Math.round(abs)} ms`;
  if (abs < 60_000) return `${sign}${(abs / 1000).toFixed(1)} s`;
  const totalSeconds = Math.floor(abs / 1000);
  const pad = (n: number): string => String(n).padStart(2, "0");
  if (totalSeconds < 3600) {
    return `${sign}${Math.floor(totalSeconds / 60)}m ${pad(totalSeconds % 60)}s`;
  }
  const totalMinutes = Math.floor(totalSeconds / 60);
  if (totalMinutes < 24 * 60) {
    return `${sign}${Math.floor(totalMinutes / 60)}h ${pad(totalMinutes % 60)}m`;
  }
  const totalHours = Math.floor(totalMinutes / 60);
  return `${sign}${Math.floor(totalHours / 24)}d ${pad(totalHours % 24)}h`;
}

export interface TimeFormat {
  /** Show UTC instead of the browser's time zone (tests, and stores shared across zones). */
  utc?: boolean;
}

/** Epoch milliseconds as "YYYY-MM-DD HH:MM:SS". */
export function formatTimestamp(ms: number | null | undefined, options: TimeFormat = {}): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return MISSING;
  const date = new Date(ms);
  const utc = options.utc ?? false;
  const parts = utc
    ? [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()]
    : [date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours(), date.getMinutes(), date.getSeconds()];
  const [year, month, day, hour, minute, second] = parts.map((n) => String(n).padStart(2, "0"));
  return `${year}-${month}-${day} ${hour}:${minute}:${second}`;
}

/** How long ago `ms` was, relative to `now`: "just now", "5 min ago", "3 h ago", "2 d ago". */
export function formatRelativeTime(ms: number | null | undefined, now: number = Date.now()): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return MISSING;
  const seconds = Math.round((now - ms) / 1000);
  if (seconds < 0) return "in the future";
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Text made safe to splice into HTML markup. Widgets build their DOM with `textContent`;
 * this is for the few places that must produce markup, such as a Vega tooltip.
 */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);
}
