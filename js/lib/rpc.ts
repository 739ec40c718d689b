// Request/response over anywidget's custom messages.
//
// A request goes to Python as `{id, kind, ...params}` (plus optional binary buffers);
// Python answers `{id, kind, reply}` or `{id, kind, error}` with its own buffers. The
// id pairs the two because replies to concurrent requests may arrive in any order, and
// because every front end showing the model sees every reply.
//
// A client belongs to one view: each widget's render makes its own and disposes it in
// its cleanup (js/run_table.ts, js/compare.ts). Ids are random per client, so a view
// takes only its own replies, and closing a view rejects only its own pending requests
// while the model's other views keep theirs.

/** The part of the anywidget model that the client needs (a test can fake it). */
export interface MessageModel {
  on(event: "msg:custom", callback: (msg: unknown, buffers: DataView[]) => void): void;
  off(event: "msg:custom", callback: (msg: unknown, buffers: DataView[]) => void): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
}

/**
 * Request parameters and reply payload for each request kind a widget understands, e.g.
 * `interface Schema { rows: { request: { limit: number }; reply: { count: number } } }`.
 */
export type RpcSchema<S> = { [K in keyof S]: { request: object; reply: object } };

export interface RpcResult<R> {
  reply: R;
  buffers: DataView[];
}

export interface RequestOptions {
  buffers?: ArrayBuffer[] | ArrayBufferView[];
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface RpcClientOptions {
  timeoutMs?: number;
  /** Prefix of request ids; random by default so two browser tabs never collide. */
  idPrefix?: string;
}

/** Raised for an `{error}` reply, a timeout, an abort or a closed client. */
export class RpcError extends Error {
  readonly kind: string;

  constructor(kind: string, message: string) {
    super(message);
    this.name = "RpcError";
    this.kind = kind;
  }
}

interface Pending {
  kind: string;
  resolve: (result: RpcResult<unknown>) => void;
  reject: (error: RpcError) => void;
  settle: () => void;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

function randomPrefix(): string {
  return Math.random().toString(36).slice(2, 10);
}

interface ReplyMessage {
  id: string;
  kind?: string;
  reply?: unknown;
  error?: unknown;
}

function isReplyMessage(msg: unknown): msg is ReplyMessage {
  return typeof msg === "object" && msg !== null && typeof (msg as { id?: unknown }).id === "string";
}

export class RpcClient<S extends RpcSchema<S>> {
  readonly #model: MessageModel;
  readonly #timeoutMs: number;
  readonly #prefix: string;
  readonly #pending = new Map<string, Pending>();
  #counter = 0;
  #closed = false;

  constructor(model: MessageModel, options: RpcClientOptions = {}) {
    this.#model = model;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#prefix = options.idPrefix ?? randomPrefix();
    this.#model.on("msg:custom", this.#onMessage);
  }

  /** Number of requests still waiting for a reply. */
  get pending(): number {
    return this.#pending.size;
  }

  request<K extends keyof S & string>(
    kind: K,
    params: S[K]["request"],
    options: RequestOptions = {},
  ): Promise<RpcResult<S[K]["reply"]>> {
    if (this.#closed) {
      return Promise.reject(new RpcError(kind, `${kind}: the widget was closed`));
    }
    if (options.signal?.aborted) {
      return Promise.reject(new RpcError(kind, `${kind}: aborted`));
    }
    this.#counter += 1;
    const id = `${this.#prefix}-${this.#counter}`;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    return new Promise<RpcResult<S[K]["reply"]>>((resolve, reject) => {
      const onAbort = (): void => {
        this.#fail(id, `${kind}: aborted`);
      };
      const timer = setTimeout(() => {
        this.#fail(id, `${kind}: no reply from Python within ${timeoutMs} ms`);
      }, timeoutMs);
      this.#pending.set(id, {
        kind,
        resolve: resolve as (result: RpcResult<unknown>) => void,
        reject,
        settle: () => {
          clearTimeout(timer);
          options.signal?.removeEventListener("abort", onAbort);
          this.#pending.delete(id);
        },
      });
      options.signal?.addEventListener("abort", onAbort);
      try {
        this.#model.send({ ...params, id, kind }, undefined, options.buffers ?? []);
      } catch (error) {
        this.#fail(id, `${kind}: ${String(error)}`);
      }
    });
  }

  /** Stops listening and rejects whatever is still pending; call it from cleanup. */
  dispose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#model.off("msg:custom", this.#onMessage);
    for (const id of [...this.#pending.keys()]) {
      this.#fail(id, "the widget was closed");
    }
  }

  #fail(id: string, message: string): void {
    const entry = this.#pending.get(id);
    if (entry === undefined) return;
    entry.settle();
    entry.reject(new RpcError(entry.kind, message));
  }

  // An arrow function so that `off` receives the very callback `on` registered.
  readonly #onMessage = (msg: unknown, buffers: DataView[]): void => {
    if (!isReplyMessage(msg)) return;
    const entry = this.#pending.get(msg.id);
    if (entry === undefined) return;
    if (msg.error !== undefined) {
      entry.settle();
      entry.reject(new RpcError(entry.kind, String(msg.error)));
      return;
    }
    entry.settle();
    entry.resolve({ reply: msg.reply ?? {}, buffers: buffers ?? [] });
  };
}
