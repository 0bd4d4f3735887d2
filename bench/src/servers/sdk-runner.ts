/**
 * The direct-SDK reference, in its own process: uploads the benchmark's bytes straight to
 * the storage server through the backend's SDK — what storage alone costs, with no HTTP hop
 * and no gateway. Driven by the parent over IPC; also empties the bucket between cells.
 */
import { randomUUID } from "node:crypto";
import { endpointFromEnv } from "../backend.ts";
import { runRound, type RoundPlan } from "../load-loop.ts";
import { payloadStream } from "../payload.ts";
import { backendSdk } from "../sdk/index.ts";
import type { ByteSpan } from "../sdk/types.ts";

export type RunnerRequest =
  /** A round of uploads of `size` bytes, or of `sizes` in turn (the chat mix). */
  | { type: "upload"; id: number; size: number; sizes?: number[]; plan: RoundPlan }
  /** Stores one object of `size` payload bytes under `key`, for the download cells. */
  | { type: "put"; id: number; key: string; size: number }
  | {
      type: "download";
      id: number;
      key: string;
      range?: ByteSpan;
      expected: number;
      plan: RoundPlan;
    }
  | { type: "purge"; id: number };

const sdk = await backendSdk(endpointFromEnv());
await sdk.ensureBucket();

function handle(message: RunnerRequest): Promise<unknown> {
  switch (message.type) {
    case "upload":
      return runRound(message.plan, async (index) => {
        const { sizes } = message;
        const size = sizes ? (sizes[index % sizes.length] ?? 0) : message.size;
        await sdk.upload(`direct/${randomUUID()}`, payloadStream(size), size);
        return size;
      });
    case "put":
      return sdk.upload(message.key, payloadStream(message.size), message.size);
    case "download":
      return runRound(message.plan, async () => {
        const bytes = await sdk.download(message.key, message.range);
        if (bytes !== message.expected) {
          throw new Error(`GET ${message.key} gave ${bytes} bytes, expected ${message.expected}`);
        }
        return bytes;
      });
    case "purge":
      return sdk.purge();
  }
}

process.on("message", (message: RunnerRequest) => {
  handle(message).then(
    (result) => process.send?.({ type: "result", id: message.id, result }),
    (err: Error) => process.send?.({ type: "result", id: message.id, error: err.message }),
  );
});
process.once("disconnect", () => process.exit(0));
process.send?.({ type: "ready" });
