// "Group by": one row per value of a param, tag or attribute with its run count and the
// min / mean / max of every visible metric, computed in DuckDB. A click drills in.
import { decodeTable, tableRows, type ArrowBytes } from "./arrow";
import { formatNumber } from "./format";
import { h } from "./table_dom";
import { columnLabel } from "./table_format";
import type { RpcClient } from "./rpc";
import type { TableRpc } from "./table_types";

export interface GroupRow {
  group: string | null;
  runs: number;
  stats: Record<string, { min: number | null; mean: number | null; max: number | null }>;
}

/** Rows of the `groups` reply; metric fields arrive as `<column>:min|mean|max`. */
export function decodeGroups(bytes: ArrowBytes | undefined, metrics: readonly string[]): GroupRow[] {
  if (bytes === undefined || bytes.byteLength === 0) return [];
  const num = (v: unknown): number | null => (typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : null);
  return tableRows(decodeTable(bytes)).map((row) => {
    const stats: GroupRow["stats"] = {};
    for (const metric of metrics) {
      if (`${metric}:mean` in row) {
        stats[metric] = { min: num(row[`${metric}:min`]), mean: num(row[`${metric}:mean`]), max: num(row[`${metric}:max`]) };
      }
    }
    const group = row["group"];
    return { group: group === null || group === undefined ? null : String(group), runs: num(row["runs"]) ?? 0, stats };
  });
}

/** The grouped table; `onPick(value)` when a group is clicked. */
export function renderGroups(
  groupBy: string,
  rows: readonly GroupRow[],
  metrics: readonly string[],
  groupCount: number,
  onPick: (value: string | null) => void,
): HTMLElement {
  const shown = metrics.filter((m) => rows.some((r) => m in r.stats));
  const head = h("tr", {}, [
    h("th", { text: columnLabel(groupBy), title: groupBy }),
    h("th", { class: "num", text: "Runs" }),
    ...shown.map((m) => h("th", { class: "num", text: columnLabel(m), title: `${m}: mean (min – max)` })),
  ]);
  const peak = Math.max(1, ...rows.map((r) => r.runs));
  const body = h("tbody");
  for (const row of rows) {
    const bar = h("span", { class: "cb-rt-group-bar" });
    bar.style.width = `${Math.round((row.runs / peak) * 100)}%`;
    const tr = h("tr", { class: "cb-rt-group-row", title: "Show these runs", attrs: { tabindex: "0" } }, [
      h("td", { class: "cb-rt-group-value", text: row.group ?? "(missing)" }),
      h("td", { class: "num cb-rt-group-runs" }, [bar, h("span", { text: formatNumber(row.runs) })]),
      ...shown.map((m) => {
        const s = row.stats[m];
        if (s === undefined || s.mean === null) return h("td", { class: "num", text: "—" });
        return h("td", { class: "num" }, [
          h("span", { class: "cb-rt-mean", text: formatNumber(s.mean) }),
          h("span", { class: "cb-rt-range", text: `${formatNumber(s.min)} – ${formatNumber(s.max)}` }),
        ]);
      }),
    ]);
    const pick = (): void => onPick(row.group);
    tr.addEventListener("click", pick);
    tr.addEventListener("keydown", (event) => {
      if (event.key === "Enter") pick();
    });
    body.append(tr);
  }
  const note =
    groupCount > rows.length
      ? `${formatNumber(groupCount)} groups; the ${formatNumber(rows.length)} largest shown. Click a group to see its runs.`
      : `${formatNumber(groupCount)} group${groupCount === 1 ? "" : "s"}. Click a group to see its runs.`;
  return h("div", { class: "cb-rt-groups" }, [
    h("div", { class: "cb-rt-groups-note", text: note }),
    h("table", { class: "cb-rt-group-table" }, [h("thead", {}, [head]), body]),
  ]);
}

/** Asks Python for the groups and shows them in `host` (or why they failed). */
export async function loadGroups(
  rpc: RpcClient<TableRpc>,
  host: HTMLElement,
  groupBy: string,
  columns: string[],
  current: () => boolean,
  onPick: (value: string | null) => void,
): Promise<void> {
  const metrics = columns.filter((c) => c.startsWith("metrics."));
  host.replaceChildren(h("div", { class: "cb-rt-summary-empty", text: "Grouping…" }));
  try {
    const { reply, buffers } = await rpc.request("groups", { group_by: groupBy, columns });
    if (!current()) return;
    host.replaceChildren(renderGroups(groupBy, decodeGroups(buffers[0], metrics), metrics, reply.groups, onPick));
  } catch (error) {
    host.replaceChildren(h("div", { class: "canvasback-error", text: String(error), attrs: { role: "alert" } }));
  }
}
