import { randomBytes } from "node:crypto";
import type { ObjectInfo, StorageAdapter, WriteOptions } from "../adapter.ts";
import { streamOf } from "./bodies.ts";

export interface ConformanceTarget {
  adapter: StorageAdapter;
  /**
   * Backend-level debris that must be empty after failed/aborted writes: temp files, open
   * multipart uploads, uncommitted blocks, resumable sessions… as readable strings.
   */
  leftovers?: () => Promise<string[]>;
  teardown?: () => Promise<void>;
}

export interface ConformanceOptions {
  /** Used in describe(). */
  name: string;
  /** Called once (beforeAll). */
  setup: () => Promise<ConformanceTarget>;
  /**
   * Whether the adapter under test signs URLs. The suite checks this claim against
   * `supportsSignedUrls` and runs the signed-URL tests only where it is true, so an adapter
   * that loses (or wrongly gains) the capability fails instead of quietly skipping.
   */
  signedUrls: boolean;
  /** Default 12 MiB (spans several S3 parts). */
  largeBodyBytes?: number;
  /** An adapter pointed at a port where nothing listens: every call must reject Unavailable. */
  unreachable?: () => StorageAdapter;
  /**
   * An adapter pointed at a bucket/container/folder that does not exist: check() and
   * delete() reject NotFound (a delete is idempotent for a missing object only).
   */
  missingBucket?: () => StorageAdapter;
  /**
   * An adapter on the same bucket as `setup`'s, configured with `prefix` (no trailing
   * '/'). Adapters that take a prefix pass it, so the suite can check that prefix + key
   * must fit the key length limit.
   */
  prefixed?: (prefix: string) => StorageAdapter | Promise<StorageAdapter>;
  /**
   * Stores and removes objects under backend names directly (the SDK, or the test
   * server), bypassing the adapter's key rules: for names other tools can create that are
   * not valid keys. Names are as `setup`'s adapter sees them (it has no prefix).
   */
  rawObjects?: RawObjects;
  /**
   * For adapters that offer `removeAbandonedUploads` (and only those: the suite checks the
   * claim): how to leave an upload behind the way a process killed mid-write does, for
   * `key` as setup's adapter names it. Its `leftovers()` must then describe it, naming
   * the key.
   */
  abandonedUploads?: AbandonedUploadHooks;
}

export interface AbandonedUploadHooks {
  /** Begin an upload of `key` and leave it open (parts or blocks sent, never completed). */
  abandon(key: string): Promise<void>;
}

export interface RawObjects {
  put(name: string, bytes: Buffer): Promise<void>;
  remove(name: string): Promise<void>;
}

export const DEFAULT_LARGE_BODY_BYTES = 12 * 1024 * 1024;

/** What every group of conformance tests gets: the live target and fresh key space. */
export interface SuiteContext {
  readonly options: ConformanceOptions;
  readonly largeBodyBytes: number;
  /** The target from `setup()`; only valid inside tests. */
  readonly target: ConformanceTarget;
  readonly adapter: StorageAdapter;
  /** A prefix (no trailing slash) nobody else uses, so tests never see each other's keys. */
  freshPrefix(): string;
  /** Writes a small object from a string or buffer. */
  put(key: string, bytes: Buffer | string, options?: WriteOptions): Promise<ObjectInfo>;
  /** Every key currently stored under `prefix`. */
  keysUnder(prefix: string): Promise<string[]>;
  /** `leftovers()` of the target, or [] when it reports none. */
  leftovers(): Promise<string[]>;
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");

export class ConformanceContext implements SuiteContext {
  readonly options: ConformanceOptions;
  readonly largeBodyBytes: number;
  /** Every key this run writes lives under this segment, so cleanup is one listing. */
  readonly root = `conformance-${hex(6)}`;
  private current: ConformanceTarget | undefined;
  private counter = 0;

  constructor(options: ConformanceOptions) {
    this.options = options;
    this.largeBodyBytes = options.largeBodyBytes ?? DEFAULT_LARGE_BODY_BYTES;
  }

  get target(): ConformanceTarget {
    if (!this.current) throw new Error(`conformance "${this.options.name}": setup() has not run.`);
    return this.current;
  }

  get adapter(): StorageAdapter {
    return this.target.adapter;
  }

  async start(): Promise<void> {
    this.current = await this.options.setup();
  }

  freshPrefix(): string {
    this.counter += 1;
    return `${this.root}/t${this.counter}-${hex(4)}`;
  }

  put(key: string, bytes: Buffer | string, options?: WriteOptions): Promise<ObjectInfo> {
    return this.adapter.write(key, streamOf(bytes), options);
  }

  async keysUnder(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const entry of this.adapter.list(prefix)) keys.push(entry.key);
    return keys;
  }

  async leftovers(): Promise<string[]> {
    return (await this.target.leftovers?.()) ?? [];
  }

  /** Deletes every object the run wrote (a few at a time: remote backends are slow). */
  async removeEverything(): Promise<void> {
    const keys = await this.keysUnder(`${this.root}/`);
    const queue = [...keys];
    const worker = async () => {
      for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
        await this.adapter.delete(key);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
  }

  /**
   * Removes what is left, then tears the target down. Best effort: a broken list or delete
   * has already failed its own tests, and must not hide the teardown.
   */
  async finish(): Promise<void> {
    if (!this.current) return;
    // The "cleanup" test reports a failure here; teardown must run regardless.
    await this.removeEverything().catch(() => undefined);
    const target = this.current;
    this.current = undefined;
    await target.teardown?.();
  }
}
