import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RpcClient, RpcError, type MessageModel } from "./rpc";

type Handler = (msg: unknown, buffers: DataView[]) => void;

/** The slice of an anywidget model the client uses, recording what was sent. */
class FakeModel implements MessageModel {
  handlers: Handler[] = [];
  sent: { content: Record<string, unknown>; buffers: unknown[] }[] = [];

  on(_event: "msg:custom", callback: Handler): void {
    this.handlers.push(callback);
  }

  off(_event: "msg:custom", callback: Handler): void {
    this.handlers = this.handlers.filter((h) => h !== callback);
  }

  send(content: unknown, _callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): void {
    this.sent.push({ content: content as Record<string, unknown>, buffers: buffers ?? [] });
  }

  /** What Python's `widget.send(...)` looks like from the browser. */
  receive(msg: unknown, buffers: DataView[] = []): void {
    for (const handler of [...this.handlers]) handler(msg, buffers);
  }

  lastId(): string {
    const last = this.sent.at(-1);
    if (last === undefined) throw new Error("nothing sent");
    return last.content["id"] as string;
  }
}

interface Schema {
  rows: { request: { run_ids: string[]; limit: number }; reply: { count: number } };
  ping: { request: Record<string, never>; reply: { pong: boolean } };
}

describe("RpcClient", () => {
  let model: FakeModel;
  let client: RpcClient<Schema>;

  beforeEach(() => {
    model = new FakeModel();
    client = new RpcClient<Schema>(model, { idPrefix: "t", timeoutMs: 1000 });
  });

  afterEach(() => {
    client.dispose();
    vi.useRealTimers();
  });

  it("sends kind, id and params, and resolves with the matching reply and buffers", async () => {
    const buffer = new Uint8Array([1, 2, 3]);
    const pending = client.request("rows", { run_ids: ["a"], limit: 5 }, { buffers: [buffer] });
    expect(model.sent).toHaveLength(1);
    expect(model.sent[0]?.content).toEqual({ kind: "rows", id: "t-1", run_ids: ["a"], limit: 5 });
    expect(model.sent[0]?.buffers).toEqual([buffer]);

    const view = new DataView(new ArrayBuffer(4));
    model.receive({ id: "t-1", kind: "rows", reply: { count: 7 } }, [view]);
    const result = await pending;
    expect(result.reply).toEqual({ count: 7 });
    expect(result.buffers).toEqual([view]);
    expect(client.pending).toBe(0);
  });

  it("pairs replies that arrive out of order by id", async () => {
    const first = client.request("rows", { run_ids: ["a"], limit: 1 });
    const second = client.request("rows", { run_ids: ["b"], limit: 2 });
    model.receive({ id: "t-2", kind: "rows", reply: { count: 2 } });
    model.receive({ id: "t-1", kind: "rows", reply: { count: 1 } });
    expect((await first).reply.count).toBe(1);
    expect((await second).reply.count).toBe(2);
  });

  it("ignores messages that are not replies to its requests", async () => {
    const pending = client.request("ping", {});
    model.receive({ kind: "refresh" });
    model.receive("plain text");
    model.receive(null);
    model.receive({ id: "someone-else-1", reply: { pong: false } });
    expect(client.pending).toBe(1);
    model.receive({ id: model.lastId(), kind: "ping", reply: { pong: true } });
    expect((await pending).reply.pong).toBe(true);
  });

  it("rejects with the Python error message", async () => {
    const pending = client.request("ping", {});
    model.receive({ id: model.lastId(), kind: "ping", error: "ValueError: no such run" });
    await expect(pending).rejects.toThrow(RpcError);
    await expect(pending).rejects.toThrow("ValueError: no such run");
    expect(client.pending).toBe(0);
  });

  it("times out, forgets the request, and ignores a late reply", async () => {
    vi.useFakeTimers();
    const pending = client.request("ping", {}, { timeoutMs: 50 });
    const id = model.lastId();
    vi.advanceTimersByTime(51);
    await expect(pending).rejects.toThrow("no reply from Python within 50 ms");
    expect(client.pending).toBe(0);
    model.receive({ id, kind: "ping", reply: { pong: true } });
    expect(client.pending).toBe(0);
  });

  it("rejects on abort", async () => {
    const controller = new AbortController();
    const pending = client.request("ping", {}, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toThrow("aborted");
    await expect(client.request("ping", {}, { signal: controller.signal })).rejects.toThrow("aborted");
  });

  it("dispose removes its handler and rejects what is pending", async () => {
    const pending = client.request("ping", {});
    expect(model.handlers).toHaveLength(1);
    client.dispose();
    expect(model.handlers).toHaveLength(0);
    await expect(pending).rejects.toThrow("closed");
    await expect(client.request("ping", {})).rejects.toThrow("closed");
    client.dispose();
  });

  it("rejects when sending fails", async () => {
    model.send = () => {
      throw new Error("comm closed");
    };
    await expect(client.request("ping", {})).rejects.toThrow("comm closed");
    expect(client.pending).toBe(0);
  });

  it("uses distinct random id prefixes by default", () => {
    const a = new RpcClient<Schema>(model);
    const b = new RpcClient<Schema>(model);
    void a.request("ping", {}).catch(() => undefined);
    const idA = model.lastId();
    void b.request("ping", {}).catch(() => undefined);
    const idB = model.lastId();
    expect(idA).not.toBe(idB);
    a.dispose();
    b.dispose();
  });
});
