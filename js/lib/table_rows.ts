// One row of the run table, loading or loaded. Text from runs reaches the page through
// textContent only (table_dom.ts's `h`).
import type { Row } from "./arrow";
import { h } from "./table_dom";
import { formatCell } from "./table_format";
import type { ColumnInfo } from "./table_types";

export function makeRow(index: number, data: Row | undefined, infos: readonly ColumnInfo[], selected: boolean, rowHeight: number): HTMLElement {
  const row = h("div", { class: "cb-rt-row", attrs: { role: "row", "data-index": String(index) } });
  row.style.transform = `translateY(${index * rowHeight}px)`;
  if (index % 2 === 1) row.classList.add("odd");
  if (data === undefined) {
    row.classList.add("loading");
    row.append(h("div", { class: "cb-rt-cell cb-rt-fixed cb-rt-sel" }), h("div", { class: "cb-rt-cell cb-rt-fixed cb-rt-open" }));
    infos.forEach((_info, i) => row.append(h("div", { class: `cb-rt-cell${i === 0 ? " cb-rt-first" : ""}` }, [h("span", { class: "cb-rt-skeleton" })])));
    return row;
  }
  row.dataset["runId"] = String(data["run_id"]);
  row.dataset["loaded"] = "true";
  row.classList.toggle("selected", selected);
  row.setAttribute("aria-selected", String(selected));
  const check = h("input", { class: "cb-rt-check", attrs: { type: "checkbox", "aria-label": "Select run", tabindex: "-1" } });
  check.checked = selected;
  row.append(
    h("div", { class: "cb-rt-cell cb-rt-fixed cb-rt-sel" }, [check]),
    h("div", { class: "cb-rt-cell cb-rt-fixed cb-rt-open" }, [h("button", { class: "cb-rt-open-button", text: "▸", title: "Show run details", attrs: { "aria-label": "Show run details", tabindex: "-1" } })]),
  );
  infos.forEach((info, i) => {
    const cell = formatCell(data[info.name], info);
    const classes = ["cb-rt-cell"];
    if (cell.numeric) classes.push("num");
    if (i === 0) classes.push("cb-rt-first");
    if (info.name === "run_name") classes.push("cb-rt-name");
    const el = h("div", { class: classes.join(" "), attrs: { role: "gridcell", "data-column": info.name } });
    if (cell.title !== undefined) el.title = cell.title;
    if (info.type === "status" && cell.text !== "—") {
      el.append(h("span", { class: "cb-rt-status", text: cell.text, attrs: { "data-run-status": cell.text } }));
    } else {
      el.textContent = cell.text;
    }
    row.append(el);
  });
  return row;
}
