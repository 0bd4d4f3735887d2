import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { PartQueue, PartReader } from "../src/index.ts";

const bytes = (n: number, fill = 1) => Buffer.alloc(n, fill);

describe("PartReader", () => {
  it("cuts chunks of any size into exact parts, the last one shorter", async () => {
    const body = Readable.from([bytes(3, 1), bytes(7, 2), bytes(1, 3), bytes(4, 4)]);
    const reader = new PartReader(body, 5);
    const signal = new AbortController().signal;
    const parts: number[][] = [];
    let part: Buffer | undefined;
    while ((part = await reader.next(signal, Buffer.alloc(5)))) parts.push([...part]);
    expect(parts).toEqual([
      [1, 1, 1, 2, 2],
      [2, 2, 2, 2, 2],
      [3, 4, 4, 4, 4],
    ]);
    expect(reader.bytesRead).toBe(15);
  });

  it("fills the buffer it is given, so callers can reuse it", async () => {
    const reader = new PartReader(Readable.from([bytes(8)]), 4);
    const into = Buffer.alloc(4);
    const signal = new AbortController().signal;
    expect(await reader.next(signal, into)).toBe(into);
    expect(await reader.next(signal, into)).toBe(into);
    expect(await reader.next(signal, into)).toBeUndefined();
  });

  it("hands the first part over as its chunks, and tells a one-part body from a longer one", async () => {
    const signal = new AbortController().signal;
    const exact = new PartReader(Readable.from([bytes(2), bytes(2)]), 4);
    expect((await exact.nextParts(signal)).map((c) => c.length)).toEqual([2, 2]);
    expect(await exact.hasMore(signal)).toBe(false);
    const longer = new PartReader(Readable.from([bytes(3), bytes(3)]), 4);
    expect((await longer.nextParts(signal)).map((c) => c.length)).toEqual([3, 1]);
    expect(await longer.hasMore(signal)).toBe(true);
    expect([...((await longer.next(signal, Buffer.alloc(4))) ?? [])]).toHaveLength(2);
  });

  it("stops waiting on a stalled body when the signal aborts", async () => {
    const body = new PassThrough();
    body.write(bytes(2));
    const controller = new AbortController();
    const reading = new PartReader(body, 4).next(controller.signal, Buffer.alloc(4));
    controller.abort(new Error("caller gave up"));
    await expect(reading).rejects.toThrow("caller gave up");
    body.destroy();
  });

  it("fails with Aborted when the body is destroyed before it ends", async () => {
    const body = new PassThrough();
    const reading = new PartReader(body, 4).next(new AbortController().signal, Buffer.alloc(4));
    body.destroy();
    await expect(reading).rejects.toMatchObject({ code: "Aborted" });
  });
});

/** A send that resolves when the test says so. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("PartQueue", () => {
  it("keeps at most `concurrency` sends running and returns results in the order added", async () => {
    const queue = new PartQueue<string>(4, 2, new AbortController().signal);
    const [a, b, c] = [deferred<string>(), deferred<string>(), deferred<string>()];
    let running = 0;
    let peak = 0;
    const start = (send: { promise: Promise<string> }) => () => {
      peak = Math.max(peak, ++running);
      return send.promise.finally(() => running--);
    };
    await queue.add(undefined, start(a));
    await queue.add(undefined, start(b));
    const third = queue.add(undefined, start(c));
    expect(running).toBe(2);
    b.resolve("b");
    await third;
    c.resolve("c");
    a.resolve("a");
    expect(await queue.finish()).toEqual(["a", "b", "c"]);
    expect(peak).toBe(2);
  });

  it("recycles its own buffers once their send succeeded, never a failed one's", async () => {
    const queue = new PartQueue<void>(4, 1, new AbortController().signal);
    const first = queue.freeBuffer();
    await queue.add(first, async () => undefined);
    await queue.finish();
    expect(queue.freeBuffer()).toBe(first);
    const foreign = Buffer.alloc(4);
    await queue.add(foreign, async () => undefined);
    await queue.finish();
    expect(queue.freeBuffer()).not.toBe(foreign);
  });

  it("stops at the first failure: it aborts the read signal and is what add and finish throw", async () => {
    const queue = new PartQueue<void>(4, 2, new AbortController().signal);
    const boom = new Error("part refused");
    const failing = deferred<undefined>();
    const buffer = queue.freeBuffer();
    await queue.add(buffer, () => failing.promise);
    failing.reject(boom);
    await queue.settle();
    expect(queue.readSignal.aborted).toBe(true);
    await expect(queue.add(undefined, async () => undefined)).rejects.toBe(boom);
    await expect(queue.finish()).rejects.toBe(boom);
    expect(queue.freeBuffer()).not.toBe(buffer);
  });

  it("reports the caller's abort rather than starting another send", async () => {
    const controller = new AbortController();
    const queue = new PartQueue<void>(4, 2, controller.signal);
    controller.abort(new Error("gone"));
    let started = false;
    await expect(
      queue.add(undefined, async () => {
        started = true;
      }),
    ).rejects.toThrow("gone");
    expect(started).toBe(false);
  });
});
