import { Transform, type TransformCallback } from "node:stream";
import { StripError, type StripErrorCode } from "./errors.ts";
import {
  Confused,
  MAX_READ,
  type Op,
  type Parser,
  type Step,
  type StripContext,
  type StripOptions,
} from "./ops.ts";
import { ByteQueue } from "./queue.ts";
import { ReportBuilder, type IncompleteReason, type StripReport } from "./report.ts";

const DEFAULT_WEBP_HOLD = 1024 * 1024;
/** A finished input lets a parser ask this many more times before it counts as a hang. */
const MAX_OPS_AFTER_END = 100_000;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const COALESCE = 64 * 1024;

/**
 * Runs a format parser over a byte stream: queues input chunks, answers the parser's requests
 * and counts bytes in and out. Once the parser is done (or confused) the rest is forwarded
 * chunk by chunk with no further work.
 */
export class StripStream extends Transform {
  readonly #builder = new ReportBuilder();
  readonly #options: Required<StripOptions>;
  readonly #gen: Step<void>;
  readonly #ctx: Mutable<StripContext>;
  #started = false;
  #op: Op | undefined;
  #progress = 0;
  readonly #queue = new ByteQueue();
  #ended = false;
  #opsAfterEnd = 0;
  #passthrough = false;
  #held: Buffer[] | undefined;
  /** Output of the current input chunk: finished buffers, then one run still growing. */
  #batch: Buffer[] = [];
  #run: Buffer | undefined;
  #runStart = 0;
  #runEnd = 0;
  readonly #sink = (buf: Buffer, start: number, end: number) => this.#outSlice(buf, start, end);
  #bytesIn = 0;
  #bytesOut = 0;
  #final: StripReport | undefined;

  constructor(parser: Parser, options: StripOptions = {}) {
    super();
    const webpHoldLimit = options.webpHoldLimit ?? DEFAULT_WEBP_HOLD;
    if (!Number.isSafeInteger(webpHoldLimit) || webpHoldLimit < 0) {
      throw new RangeError(`webpHoldLimit must be a whole number of bytes, not ${webpHoldLimit}`);
    }
    this.#options = { onMalformed: options.onMalformed ?? "pass", webpHoldLimit };
    this.#ctx = this.#context();
    this.#gen = parser(this.#ctx);
  }

  /** What was stripped; final once the stream has finished (`finish`/`end`). */
  get report(): StripReport {
    return this.#final ?? this.#builder.build(this.#bytesIn, this.#bytesOut);
  }
  get bytesIn(): number {
    return this.#bytesIn;
  }
  get bytesOut(): number {
    return this.#bytesOut;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.#bytesIn += chunk.length;
    if (this.#passthrough) {
      this.#bytesOut += chunk.length;
      this.push(chunk);
      callback();
      return;
    }
    this.#queue.push(chunk);
    const err = this.#step();
    this.#pushBatch();
    callback(err);
  }

  override _flush(callback: TransformCallback): void {
    this.#ended = true;
    const err = this.#passthrough ? undefined : this.#step();
    this.#pushBatch();
    if (err === undefined) this.#final = this.#builder.build(this.#bytesIn, this.#bytesOut);
    callback(err);
  }

  /** The parser's view: plain data fields the engine keeps up to date (no getters to call). */
  #context(): Mutable<StripContext> {
    const ctx: Mutable<StripContext> = {
      position: 0,
      heldBytes: 0,
      report: this.#builder,
      options: this.#options,
      emit: (data) => this.#out(data),
      startHold: () => {
        this.#held ??= [];
      },
      endHold: () => this.#endHold(),
      incomplete: (reason, message) => {
        if (this.#options.onMalformed === "error") throw errorFor(reason, message);
        this.#builder.incomplete(reason);
      },
    };
    return ctx;
  }

  #step(): Error | undefined {
    try {
      this.#drive();
      return undefined;
    } catch (err) {
      return err instanceof StripError
        ? err
        : new StripError("Internal", `strip stage failed: ${String(err)}`, { cause: err });
    }
  }

  #drive(): void {
    if (!this.#started) {
      this.#started = true;
      this.#advance(undefined);
    }
    for (let op = this.#op; op !== undefined; op = this.#op) {
      const queue = this.#queue;
      if (op.kind === "read" || op.kind === "peek") {
        if (queue.length < op.n && !this.#ended) return;
        const n = Math.min(op.n, queue.length);
        if (op.kind === "read") this.#ctx.position += n;
        this.#advance(op.kind === "read" ? queue.take(n) : queue.peek(n));
        continue;
      }
      const k = Math.min(op.n - this.#progress, queue.length);
      if (k > 0) {
        queue.skip(k, op.kind === "pass" ? this.#sink : undefined);
        this.#ctx.position += k;
        this.#progress += k;
      }
      if (this.#progress < op.n && !this.#ended) return;
      const done = this.#progress;
      this.#progress = 0;
      this.#advance(done);
    }
    this.#enterPassthrough();
  }

  #advance(value: unknown): void {
    if (this.#ended && ++this.#opsAfterEnd > MAX_OPS_AFTER_END) {
      throw new StripError("Internal", "strip parser kept asking for input after it ended");
    }
    let next: IteratorResult<Op, void>;
    try {
      next = this.#gen.next(value);
    } catch (err) {
      if (!(err instanceof Confused)) throw err;
      if (this.#options.onMalformed === "error") throw errorFor(err.reason, err.message);
      this.#builder.incomplete(err.reason);
      this.#op = undefined;
      return;
    }
    if (next.done) {
      this.#op = undefined;
      return;
    }
    const op = next.value;
    const bounded = op.kind === "pass" || op.kind === "skip" || op.n <= MAX_READ;
    if (!Number.isSafeInteger(op.n) || op.n < 0 || !bounded) {
      throw new StripError("Internal", `strip parser asked for ${op.kind} ${op.n}`);
    }
    this.#op = op;
  }

  #enterPassthrough(): void {
    this.#passthrough = true;
    this.#endHold();
    this.#ctx.position += this.#queue.length;
    this.#queue.drain(this.#sink);
  }

  #out(data: Buffer): void {
    this.#outSlice(data, 0, data.length);
  }

  /**
   * Bytes that continue the current run (the same chunk, right after it) extend it, and a view
   * is made only when the run ends: passing a whole chunk through makes no new Buffer at all.
   */
  #outSlice(buf: Buffer, start: number, end: number): void {
    if (end <= start) return;
    if (this.#held) {
      this.#held.push(start === 0 && end === buf.length ? buf : buf.subarray(start, end));
      this.#ctx.heldBytes += end - start;
      return;
    }
    this.#bytesOut += end - start;
    if (this.#run === buf && this.#runEnd === start) {
      this.#runEnd = end;
      return;
    }
    this.#closeRun();
    this.#run = buf;
    this.#runStart = start;
    this.#runEnd = end;
  }

  #closeRun(): void {
    const run = this.#run;
    if (!run) return;
    this.#run = undefined;
    const whole = this.#runStart === 0 && this.#runEnd === run.length;
    this.#batch.push(whole ? run : run.subarray(this.#runStart, this.#runEnd));
  }

  /**
   * Pushes the output of one input chunk. Where the stage changed something, the chunk comes out
   * in pieces (slices, replacements, zeros); every piece costs the stages after this one a call
   * and the file or socket a write, so pieces are copied together into buffers of up to
   * COALESCE bytes. An untouched chunk is one piece and goes as it came.
   */
  #pushBatch(): void {
    this.#closeRun();
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    let group: Buffer[] = [];
    let size = 0;
    const flush = () => {
      if (group.length === 1 && group[0]) this.push(group[0]);
      else if (group.length > 1) this.push(Buffer.concat(group, size));
      group = [];
      size = 0;
    };
    for (const data of batch) {
      if (size + data.length > COALESCE) flush();
      group.push(data);
      size += data.length;
    }
    flush();
  }

  #endHold(): void {
    const held = this.#held;
    if (!held) return;
    this.#held = undefined;
    this.#ctx.heldBytes = 0;
    for (const data of held) this.#out(data);
  }
}

const CODES: Record<IncompleteReason, StripErrorCode> = {
  malformed: "Malformed",
  truncated: "Malformed",
  limit: "LimitExceeded",
  unreachable: "Unreachable",
};

function errorFor(reason: IncompleteReason, message: string): StripError {
  return new StripError(CODES[reason], message);
}
