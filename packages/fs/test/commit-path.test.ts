import { Session } from "node:inspector";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { streamOf } from "@mediagate/core/conformance";
import { describe, expect, it } from "vitest";
import { FsAdapter, RESERVED_DIR, type CommitStep } from "../src/index.ts";
import { tempDir } from "./temp-root.ts";

/** Exceptions thrown (caught or not) while `run` runs, by where they were thrown. */
async function exceptionsDuring(run: () => Promise<void>): Promise<string[]> {
  const session = new Session();
  session.connect();
  const thrown: string[] = [];
  session.on("Debugger.paused", ({ params }) => {
    const frame = params.callFrames[0];
    thrown.push(`${frame?.functionName} ${frame?.url}:${frame?.location.lineNumber}`);
    session.post("Debugger.resume");
  });
  session.post("Debugger.enable");
  session.post("Debugger.setPauseOnExceptions", { state: "all" });
  try {
    await run();
  } finally {
    session.post("Debugger.setPauseOnExceptions", { state: "none" });
    session.disconnect();
  }
  return thrown;
}

describe("the commit of a new object", () => {
  it.each([
    { durable: false, inlineSyscalls: true },
    { durable: true, inlineSyscalls: true },
    { durable: false, inlineSyscalls: false },
    { durable: true, inlineSyscalls: false },
  ])("throws no exception on its way (%o)", async (options) => {
    const root = await tempDir("no-throw");
    const adapter = new FsAdapter({ root, ...options });
    // The day's folders exist and are known, as for every upload but the day's first.
    await adapter.write("2025/12/06/first.jpg", streamOf("x"));
    const thrown = await exceptionsDuring(async () => {
      for (let i = 0; i < 10; i++) {
        await adapter.write(`2025/12/06/${i}.jpg`, streamOf(Buffer.alloc(16 * 1024, i)), {
          contentType: "image/jpeg",
          metadata: { uid: "1" },
        });
      }
    });
    expect(thrown).toEqual([]);
    expect(await readdir(join(root, "2025", "12", "06"))).toHaveLength(11);
  });

  it("passes its steps in order, once each", async () => {
    const steps: CommitStep[] = [];
    const adapter = new FsAdapter({
      root: await tempDir("steps"),
      onCommitStep: (step, key) => {
        expect(key).toBe("a/b");
        steps.push(step);
      },
    });
    await adapter.write("a/b", streamOf("x"));
    expect(steps).toEqual(["temp-written", "sidecar-published", "renamed", "done"]);
    expect(await readdir(join(adapter.root, RESERVED_DIR, "tmp"))).toEqual([]);
  });
});
