// A menu that opens under (or over) its button, above everything: in the page's top
// layer where the browser has the Popover API, so neither the table's rounded, clipped
// box nor a notebook's output area cuts it off. It is never taller than the room the
// window leaves, and scrolls inside when its content is taller.
import { h } from "./table_dom";

const GAP = 4;
const MARGIN = 8;
/** Below this much room under the button, the menu opens above it if there is more room there. */
const MIN_BELOW = 200;

/** Where the menu goes for a button at `anchor` in a window of `view`: CSS pixels. */
export function placeMenu(
  anchor: { top: number; bottom: number; left: number },
  view: { width: number; height: number },
  menuWidth: number,
): { top?: number; bottom?: number; left: number; maxHeight: number } {
  const below = view.height - anchor.bottom - GAP - MARGIN;
  const above = anchor.top - GAP - MARGIN;
  const left = Math.max(MARGIN, Math.min(anchor.left, view.width - menuWidth - MARGIN));
  if (below < MIN_BELOW && above > below) return { bottom: view.height - anchor.top + GAP, left, maxHeight: above };
  return { top: anchor.bottom + GAP, left, maxHeight: Math.max(below, 0) };
}

export class Popover {
  readonly el: HTMLDivElement;
  #anchor: HTMLElement | null = null;
  readonly #follow = (): void => this.place();
  readonly #topLayer: boolean;

  constructor(className: string, label: string) {
    this.el = h("div", { class: `cb-rt-popover ${className}`, attrs: { role: "dialog", "aria-label": label } });
    this.#topLayer = typeof this.el.showPopover === "function";
    if (this.#topLayer) this.el.popover = "manual";
    else this.el.hidden = true;
  }

  get isOpen(): boolean {
    return this.#anchor !== null;
  }

  open(anchor: HTMLElement): void {
    this.#anchor = anchor;
    anchor.setAttribute("aria-expanded", "true");
    if (this.#topLayer) this.el.showPopover();
    else this.el.hidden = false;
    this.place();
    // Any scroller between the button and the window moves the button: follow it.
    window.addEventListener("scroll", this.#follow, { capture: true, passive: true });
    window.addEventListener("resize", this.#follow, { passive: true });
  }

  close(): void {
    if (this.#anchor === null) return;
    this.#anchor.setAttribute("aria-expanded", "false");
    this.#anchor = null;
    if (this.#topLayer) this.el.hidePopover();
    else this.el.hidden = true;
    window.removeEventListener("scroll", this.#follow, { capture: true });
    window.removeEventListener("resize", this.#follow);
  }

  toggle(anchor: HTMLElement): void {
    if (this.#anchor === anchor) this.close();
    else this.open(anchor);
  }

  /** Close on a click outside the menu and its button, or on Escape. */
  dismiss(event: Event): void {
    if (this.#anchor === null) return;
    if (event instanceof KeyboardEvent) {
      if (event.key === "Escape") this.close();
      return;
    }
    const target = event.target instanceof Node ? event.target : null;
    if (target !== null && (this.el.contains(target) || this.#anchor.contains(target))) return;
    this.close();
  }

  place(): void {
    if (this.#anchor === null) return;
    const rect = this.#anchor.getBoundingClientRect();
    const spot = placeMenu(rect, { width: window.innerWidth, height: window.innerHeight }, this.el.offsetWidth);
    const style = this.el.style;
    style.left = `${spot.left}px`;
    style.top = spot.top === undefined ? "auto" : `${spot.top}px`;
    style.bottom = spot.bottom === undefined ? "auto" : `${spot.bottom}px`;
    style.maxHeight = `${spot.maxHeight}px`;
  }
}
