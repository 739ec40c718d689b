// A widget's saved view and its live view, shown one at a time.
//
// Python displays every widget as two outputs: first its static HTML (tables, charts as
// SVG), marked `data-cb-static="<key>"`, then the widget view. Wherever no widget can
// run (nbconvert HTML, a notebook reopened without its kernel, GitHub) only the first
// renders. Where the view does run, it hides the static copy as soon as it starts, and
// pings Python: a view restored from saved widget state, with no kernel behind it, gets
// no answer, so after a few seconds it steps aside and the static copy shows again. A
// late answer (a kernel busy with a long cell) swaps them back.

/** Class of a view that is running; the static output's CSS hides what lacks it. */
export const LIVE_CLASS = "cb-view-live";
/** How long a view waits for Python before it shows the static copy instead. */
export const NO_KERNEL_AFTER_MS = 5_000;

/** The part of the model this needs: the key in a trait, and a way to ping Python. */
export interface SavedViewModel {
  get(key: "_static_key"): string | undefined;
}

export interface SavedViewOptions {
  /** Resolves when Python answers (a ping); never settling means no kernel. */
  ping: () => Promise<unknown>;
  root?: ParentNode;
  noKernelAfterMs?: number;
}

function cssString(text: string): string {
  return `"${text.replace(/["\\]/g, "\\$&")}"`;
}

/** The static outputs of a key: their output-area boxes where there are any. */
export function staticBoxes(key: string, root: ParentNode = document): HTMLElement[] {
  if (!key) return [];
  const found = root.querySelectorAll<HTMLElement>(`[data-cb-static~=${cssString(key)}]`);
  return [...found].map((node) => node.closest<HTMLElement>(".jp-OutputArea-child") ?? node);
}

function show(nodes: HTMLElement[], visible: boolean): void {
  for (const node of nodes) node.style.display = visible ? "" : "none";
}

/** The box of the view itself: its output-area child in Jupyter, else the element. */
function viewBox(el: HTMLElement): HTMLElement {
  return el.closest<HTMLElement>(".jp-OutputArea-child") ?? el;
}

/**
 * Shows the live view `el` in place of the static copy of the same widget, unless
 * Python never answers. Returns a cleanup that stops waiting.
 */
export function followSavedView(
  model: SavedViewModel,
  el: HTMLElement,
  options: SavedViewOptions,
): () => void {
  const key = model.get("_static_key") ?? "";
  const root = options.root ?? document;
  el.classList.add(LIVE_CLASS);
  show(staticBoxes(key, root), false);
  let answered = false;
  let disposed = false;
  const timer = setTimeout(() => {
    if (answered || disposed) return;
    const statics = staticBoxes(key, root);
    if (statics.length === 0) return; // nothing better to show than the view itself
    el.classList.remove(LIVE_CLASS);
    show([viewBox(el)], false);
    show(statics, true);
  }, options.noKernelAfterMs ?? NO_KERNEL_AFTER_MS);
  options.ping().then(
    () => {
      answered = true;
      if (disposed) return;
      clearTimeout(timer);
      el.classList.add(LIVE_CLASS);
      show([viewBox(el)], true);
      show(staticBoxes(key, root), false);
    },
    () => undefined, // a closed view: nothing to swap
  );
  return () => {
    disposed = true;
    clearTimeout(timer);
  };
}
