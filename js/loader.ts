// The small front end every chart and table widget ships in its own state (`_esm`).
//
// The code that draws a widget (vega and all) lives once per kernel in a shared runtime
// model (Python: widgets/_runtime.py), referenced by the `_runtime` trait, so that a
// notebook of ten charts saves that code once instead of ten times. This loader finds
// the runtime through the widget manager (or, in a front end that cannot resolve widget
// references, asks Python for it), imports it once per page from a blob URL, keyed by
// its digest, and hands it the render. It also swaps the saved static view for the live
// one (js/lib/saved_view.ts).
import type { AnyModel, RenderProps } from "@anywidget/types";
import { RpcClient } from "./lib/rpc";
import { followSavedView } from "./lib/saved_view";

interface LoaderModel {
  _runtime: string | null;
  _runtime_digest: string;
  _static_key: string;
}

interface Widget {
  render?: (props: RenderProps<never>) => unknown;
}

type Rpc = {
  ping: { request: Record<string, never>; reply: Record<string, never> };
  runtime: { request: Record<string, never>; reply: { digest: string } };
};

// A day: a ping that never comes back is a view with no kernel, handled by the timer.
const PING_TIMEOUT_MS = 86_400_000;
const REF_PREFIX = "IPY_MODEL_";

const modules: Map<string, Promise<Widget>> = ((globalThis as { __canvasbackRuntimes?: Map<string, Promise<Widget>> })
  .__canvasbackRuntimes ??= new Map());

/** The runtime's code, gunzipped (Python packs it: widgets/_runtime.py). */
export async function gunzip(data: DataView | ArrayBuffer | Uint8Array): Promise<string> {
  // A copy: the view may sit on a SharedArrayBuffer, which Blob does not take.
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const stream = new Blob([bytes.slice()]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).text();
}

async function packedCode(model: AnyModel<LoaderModel>): Promise<DataView> {
  const ref = model.get("_runtime");
  const manager = model.widget_manager as AnyModel["widget_manager"] | undefined;
  if (typeof ref === "string" && ref.startsWith(REF_PREFIX) && manager) {
    try {
      const runtime = await manager.get_model<{ code: DataView }>(ref.slice(REF_PREFIX.length));
      const code = runtime.get("code");
      if (code && code.byteLength > 0) return code;
    } catch {
      // A front end that does not resolve references: ask Python below.
    }
  }
  const client = new RpcClient<Rpc>(model);
  try {
    const { buffers } = await client.request("runtime", {});
    const data = buffers[0];
    if (!data) throw new Error("the runtime reply carried no code");
    return data;
  } finally {
    client.dispose();
  }
}

async function runtimeCode(model: AnyModel<LoaderModel>): Promise<string> {
  return gunzip(await packedCode(model));
}

function load(model: AnyModel<LoaderModel>): Promise<Widget> {
  const digest = model.get("_runtime_digest") || "unknown";
  let widget = modules.get(digest);
  if (widget === undefined) {
    widget = runtimeCode(model).then(async (code) => {
      const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
      try {
        const module = (await import(/* @vite-ignore */ url)) as { default: Widget | (() => Widget) };
        return typeof module.default === "function" ? module.default() : module.default;
      } finally {
        URL.revokeObjectURL(url);
      }
    });
    widget.catch(() => modules.delete(digest));
    modules.set(digest, widget);
  }
  return widget;
}

/**
 * Resolves when Python speaks on the model: the answer to a ping, or any message it sends
 * unasked. A kernel busy with a cell answers no ping until the cell ends, but the live run
 * views' threads speak while it trains (widgets/live_run.py), so that a view shown by a
 * long cell is known to have a kernel behind it and keeps its place.
 */
function heard(model: AnyModel<LoaderModel>, pings: RpcClient<Rpc>): { answer: () => Promise<unknown>; stop: () => void } {
  let stop = (): void => undefined;
  const spoken = new Promise<void>((resolve) => {
    const onMessage = (): void => resolve();
    model.on("msg:custom", onMessage);
    stop = () => model.off("msg:custom", onMessage);
  });
  void spoken.then(() => stop());
  return { answer: () => Promise.race([pings.request("ping", {}), spoken]), stop: () => stop() };
}

async function render(props: RenderProps<LoaderModel>): Promise<() => void> {
  const { model, el } = props;
  const pings = new RpcClient<Rpc>(model, { timeoutMs: PING_TIMEOUT_MS });
  const python = heard(model, pings);
  const stopFollowing = followSavedView(model, el, { ping: python.answer });
  let cleanup: unknown;
  try {
    const widget = await load(model);
    cleanup = await widget.render?.(props as unknown as RenderProps<never>);
  } catch (error) {
    const box = document.createElement("div");
    box.className = "canvasback-error";
    box.textContent = `canvasback could not load this widget: ${String(error)}`;
    el.append(box);
  }
  return () => {
    stopFollowing();
    python.stop();
    pings.dispose();
    if (typeof cleanup === "function") (cleanup as () => void)();
  };
}

export default { render };
