import type { IncompleteReason, ReportBuilder } from "./report.ts";

/**
 * A format parser is a generator that asks the stream for bytes: `read` and `peek` hand it a
 * small header (bounded by MAX_READ), `pass` forwards bytes it does not need to see and `skip`
 * drops them. Forwarded bytes are slices of the input chunks, never copies, so the scan data
 * of an image or the mdat of a video costs one queue step per chunk.
 */
export type Op =
  | { kind: "read"; n: number }
  | { kind: "peek"; n: number }
  | { kind: "pass"; n: number }
  | { kind: "skip"; n: number };

export type Step<T> = Generator<Op, T, unknown>;

export interface StripOptions {
  /**
   * Input whose magic bytes name a known format but which cannot be stripped whole (broken or
   * truncated structure, a table over its bound, unreachable HEIF items): `pass` (default)
   * strips what it can, passes the rest byte for byte and reports `complete: false`; `error`
   * fails the stream with a StripError (Malformed, LimitExceeded or Unreachable) instead.
   */
  onMalformed?: "pass" | "error";
  /**
   * WebP files up to this many bytes are held whole so EXIF/XMP chunks can be cut out and the
   * RIFF size fixed; larger ones are neutralised in place. Default 1 MiB.
   */
  webpHoldLimit?: number;
}

export interface StripContext {
  /** Bytes of input consumed so far (read, passed or skipped). */
  readonly position: number;
  readonly report: ReportBuilder;
  readonly options: Required<StripOptions>;
  readonly heldBytes: number;
  emit(data: Buffer): void;
  /** From now on output is held back (bounded by the parser) until endHold. */
  startHold(): void;
  endHold(): void;
  /** A part could not be stripped but parsing goes on; fails the stream in `error` mode. */
  incomplete(reason: IncompleteReason, message: string): void;
}

export type Parser = (ctx: StripContext) => Step<void>;

/** Thrown by a parser where the structure stops making sense; the rest of the input passes. */
export class Confused extends Error {
  readonly reason: IncompleteReason;
  constructor(reason: IncompleteReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

export const MAX_READ = 2 * 1024 * 1024;

export function* read(n: number): Step<Buffer> {
  return (yield { kind: "read", n }) as Buffer;
}
export function* peek(n: number): Step<Buffer> {
  return (yield { kind: "peek", n }) as Buffer;
}
/** Forwards n bytes; returns how many there were (fewer only at the end of input). */
export function* pass(n: number): Step<number> {
  return (yield { kind: "pass", n }) as number;
}
export function* skip(n: number): Step<number> {
  return (yield { kind: "skip", n }) as number;
}
/** Replaces the next n bytes with zeros (or `byte`), streaming in pieces. */
export function* zeroFill(ctx: StripContext, n: number, byte = 0): Step<number> {
  let done = 0;
  while (done < n) {
    const want = Math.min(n - done, 64 * 1024);
    const got = yield* skip(want);
    if (got > 0) ctx.emit(Buffer.alloc(got, byte));
    done += got;
    if (got < want) break;
  }
  return done;
}
