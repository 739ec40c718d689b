// Every widget's stylesheet is the shared one (js/styles/tokens.css: design tokens, error
// boxes, run-status colours) followed by the widget's own sheets. esbuild inlines each
// CSS file as text (see js/build.mjs); anywidget has no stylesheet of its own to load.
import tokens from "../styles/tokens.css";

/** A `<style>` element holding the shared sheet and then `sheets`, in order. */
export function styleElement(...sheets: string[]): HTMLStyleElement {
  const style = document.createElement("style");
  style.textContent = [tokens, ...sheets].join("\n");
  return style;
}
