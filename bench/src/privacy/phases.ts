/**
 * The two comparisons, each a pair of gateways started together and measured in alternating
 * rounds — without the feature, with it; again; again — so a slow minute on a shared machine
 * lands on both rather than on whichever ran then. Each pair is stopped before the next
 * starts, so the idle one never holds memory or CPU the other is measured with.
 */
import type { Agent } from "node:http";
import { keepAliveAgent } from "../http-client.ts";
import { MiB } from "../units.ts";
import { postMedia } from "./form.ts";
import { masterKey, startBenchGateway, type BenchGateway, type GatewaySetup } from "./gateways.ts";
import { largeRound, mediaRound, type LargeFigures, type MediaFigures } from "./measure.ts";
import { locationTags, type MediaFile } from "./media.ts";
import { checkStoredBytes, servedLocationTags } from "./verify.ts";

export interface PhaseContext {
  setup: GatewaySetup;
  rounds: number;
  /** Every gateway started, so the caller can show their logs after a failure. */
  started: BenchGateway[];
  log(message: string): void;
  /** Fresh mids for `count` uploads (the first returned), as a client numbers its messages. */
  nextIndex(count?: number): number;
}

export interface Paired<T> {
  without: T[];
  with: T[];
}

interface Side {
  gateway: BenchGateway;
  agent: Agent;
}

type GatewaySpec = { name: string; label: string; env: Record<string, string> };

async function withPair<R>(
  ctx: PhaseContext,
  specs: { without: GatewaySpec; with: GatewaySpec },
  body: (without: Side, withFeature: Side) => Promise<R>,
): Promise<R> {
  const sides: Side[] = [];
  try {
    for (const spec of [specs.without, specs.with]) {
      const gateway = await startBenchGateway(ctx.setup, spec.name, spec.label, spec.env);
      ctx.started.push(gateway);
      sides.push({ gateway, agent: keepAliveAgent() });
    }
    const [a, b] = sides as [Side, Side];
    return await body(a, b);
  } finally {
    for (const side of sides) {
      side.agent.destroy();
      await side.gateway.running.child.stop();
    }
  }
}

/** A B, A B, A B: `measure` once per side per round, the store emptied after each. */
async function alternate<T>(
  ctx: PhaseContext,
  what: string,
  a: Side,
  b: Side,
  measure: (side: Side) => Promise<T>,
): Promise<Paired<T>> {
  const out: Paired<T> = { without: [], with: [] };
  for (let round = 1; round <= ctx.rounds; round++) {
    for (const [side, list] of [
      [a, out.without],
      [b, out.with],
    ] as const) {
      ctx.log(`${what}: round ${round}/${ctx.rounds}, ${side.gateway.label}`);
      list.push(await measure(side));
    }
  }
  return out;
}

export interface EncryptionResult extends Paired<LargeFigures> {
  checks: string[];
}

/** ENCRYPTION=off against on: one large upload, its full GET and ranged GETs per round. */
export function encryptionPhase(
  ctx: PhaseContext,
  size: number,
  ranges: number,
): Promise<EncryptionResult> {
  // Random bytes are no photo: STRIP_METADATA (on, as by default) passes them untouched.
  const specs = {
    without: { name: "encryption-off", label: "ENCRYPTION=off", env: { ENCRYPTION: "off" } },
    with: {
      name: "encryption-on",
      label: "ENCRYPTION=on",
      env: { ENCRYPTION: "on", ENCRYPTION_KEYS: masterKey() },
    },
  };
  return withPair(ctx, specs, async (a, b) => {
    const checks: string[] = [];
    // Warm-up (code paths, connections) and the checks, untimed, on an object of 8 MiB.
    const warm = Math.min(size, 8 * MiB);
    for (const side of [a, b]) {
      const { url } = await largeRound(side.gateway, side.agent, warm, 3, ctx.nextIndex());
      const check = await checkStoredBytes(side.gateway, url, warm);
      const encrypted = side === b;
      if (check.plaintextAtRest === encrypted || !check.rangeIntact) {
        throw new Error(
          `${side.gateway.label}: plaintext at rest ${check.plaintextAtRest}, ranged GET ` +
            `${check.rangeIntact ? "intact" : "wrong"}: not the path this benchmark measures`,
        );
      }
      checks.push(
        `${side.gateway.label}: the stored file ${encrypted ? "is not" : "is"} the bytes sent; ` +
          "a ranged GET from the middle returns exactly the bytes sent there",
      );
      await side.gateway.purge();
    }
    const rounds = await alternate(ctx, "encryption", a, b, async (side) => {
      const { figures } = await largeRound(side.gateway, side.agent, size, ranges, ctx.nextIndex());
      const stored = await side.gateway.purge();
      if (stored.bytes < size) {
        throw new Error(`${side.gateway.label}: stored ${stored.bytes} of ${size} bytes`);
      }
      return figures;
    });
    return { ...rounds, checks };
  });
}

export interface StripResult {
  /** Per file of `media`, in its order. */
  files: Paired<MediaFigures>[];
  checks: string[];
}

/** STRIP_METADATA=off against on: N uploads of each file in turn, per round. */
export function stripPhase(
  ctx: PhaseContext,
  media: readonly MediaFile[],
  count: number,
  downloadDir: string,
): Promise<StripResult> {
  const specs = {
    without: { name: "strip-off", label: "STRIP_METADATA=off", env: { STRIP_METADATA: "off" } },
    with: { name: "strip-on", label: "STRIP_METADATA=on", env: { STRIP_METADATA: "on" } },
  };
  return withPair(ctx, specs, async (a, b) => {
    const checks: string[] = [];
    for (const file of media) {
      const sent = await locationTags(file.path);
      if (sent.length === 0) throw new Error(`exiftool finds no location in the ${file.label}`);
      const found: string[] = [];
      // Warm-up, untimed, ending with the check: what exiftool finds in the served file.
      for (const side of [a, b]) {
        let url = "";
        for (let i = 0; i < 3; i++) {
          url = await postMedia(side.agent, side.gateway.uploadUrl, file, ctx.nextIndex());
        }
        const tags = await servedLocationTags(url, file, downloadDir, side.gateway.label);
        const stripped = side === b;
        if ((tags.length === 0) !== stripped) {
          throw new Error(
            `${side.gateway.label}: exiftool finds ${tags.join(", ") || "no location"} in the ` +
              `${file.label} served back: not the path this benchmark measures`,
          );
        }
        found.push(`${side.gateway.label}: ${tags.length || "none"}`);
        await side.gateway.purge();
      }
      checks.push(
        `${file.label}: exiftool finds ${sent.length} location tags in the file sent ` +
          `(${sent.join(", ")}); in the file served back, ${found.join("; ")}`,
      );
    }
    const measureFile = (file: MediaFile) =>
      alternate(ctx, `strip, ${file.label}`, a, b, async (side) => {
        const figures = await mediaRound(
          side.gateway,
          side.agent,
          file,
          count,
          ctx.nextIndex(count),
        );
        // Per upload: the object's file and its sidecar; fewer means an upload was lost.
        const stored = await side.gateway.purge();
        if (stored.objects < count) {
          throw new Error(`${side.gateway.label}: ${stored.objects} files for ${count} uploads`);
        }
        return figures;
      });
    const files: Paired<MediaFigures>[] = [];
    for (const file of media) files.push(await measureFile(file));
    return { files, checks };
  });
}
