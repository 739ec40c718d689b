// A Vega-Lite chart widget front end: the spec and its named datasets come from Python;
// a click on a mark and selection changes go back as traits.
import type { RenderProps } from "@anywidget/types";
import { clearError, embedChart, showError, type Chart, type VisualizationSpec } from "./lib/vega";
import { styleElement } from "./lib/styles";
import css from "./styles/vega_view.css";

/** Synced traits, declared in Python by the widget classes that use this front end. */
export interface VegaViewModel {
  /** A Vega-Lite spec whose data are named datasets (`{"data": {"name": ...}}`). */
  spec: Record<string, unknown>;
  /** Dataset name -> Arrow IPC stream bytes. */
  datasets: Record<string, DataView>;
  /** Scalar fields of the last clicked mark's datum. */
  clicked: Record<string, unknown> | null;
  /** Selection parameter name -> `{value, store}`. */
  selections: Record<string, unknown>;
}

async function render({ model, el }: RenderProps<VegaViewModel>): Promise<() => void> {
  const style = styleElement(css);
  const target = document.createElement("div");
  target.className = "canvasback canvasback-vega-view";
  el.append(style, target);

  let chart: Chart | null = null;
  // Embedding is async; a newer spec may arrive before an older one finished.
  let generation = 0;

  const draw = async (): Promise<void> => {
    generation += 1;
    const mine = generation;
    chart?.finalize();
    chart = null;
    clearError(el);
    try {
      const next = await embedChart(target, model.get("spec") as VisualizationSpec, model.get("datasets") ?? {}, {
        onClick: (datum) => {
          model.set("clicked", datum);
          model.save_changes();
        },
        onSelection: (name, state) => {
          model.set("selections", { ...model.get("selections"), [name]: state });
          model.save_changes();
        },
      });
      if (mine !== generation) {
        next.finalize();
        return;
      }
      chart = next;
      el.dataset["rendered"] = "true";
    } catch (error) {
      if (mine !== generation) return;
      target.replaceChildren();
      showError(el, error);
      el.dataset["rendered"] = "error";
    }
  };

  const onDatasets = async (): Promise<void> => {
    if (chart === null) {
      await draw();
      return;
    }
    try {
      await chart.setDatasets(model.get("datasets") ?? {});
    } catch (error) {
      showError(el, error);
    }
  };

  const onSpec = (): void => {
    void draw();
  };
  const onData = (): void => {
    void onDatasets();
  };
  model.on("change:spec", onSpec);
  model.on("change:datasets", onData);
  await draw();

  return () => {
    generation += 1;
    model.off("change:spec", onSpec);
    model.off("change:datasets", onData);
    chart?.finalize();
    chart = null;
  };
}

export default { render };
