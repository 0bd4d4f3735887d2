import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { Checksums } from "./checksums.ts";
import { GcsApiError } from "./errors.ts";

/** The object fields a client may set when it creates an object. */
export interface ObjectInit {
  contentType?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  cacheControl?: string;
  metadata?: Record<string, string>;
}

/** An objects.patch body: a field set to null is cleared; metadata keys are merged. */
export type ObjectPatch = {
  [K in Exclude<keyof ObjectInit, "metadata">]?: string | null;
} & { metadata?: Record<string, string | null> | null };

export interface StoredObject extends ObjectInit {
  bucket: string;
  name: string;
  generation: string;
  metageneration: number;
  size: number;
  md5Hash: string;
  crc32c: string;
  timeCreated: Date;
  updated: Date;
  /** Where the bytes live on disk; replaced objects get a new file. */
  path: string;
}

export interface StoredBucket {
  name: string;
  projectNumber: string;
  timeCreated: Date;
  metageneration: number;
  objects: Map<string, StoredObject>;
}

/** `ifGenerationMatch` & co., as query parameters carry them (strings). */
export interface Preconditions {
  ifGenerationMatch?: string;
  ifGenerationNotMatch?: string;
  ifMetagenerationMatch?: string;
  ifMetagenerationNotMatch?: string;
}

export function preconditionsFrom(query: URLSearchParams): Preconditions {
  const pick = (k: string) => query.get(k) ?? undefined;
  return {
    ifGenerationMatch: pick("ifGenerationMatch"),
    ifGenerationNotMatch: pick("ifGenerationNotMatch"),
    ifMetagenerationMatch: pick("ifMetagenerationMatch"),
    ifMetagenerationNotMatch: pick("ifMetagenerationNotMatch"),
  };
}

/** Throws 412 unless `current` (undefined: no live object) satisfies the preconditions. */
export function checkPreconditions(current: StoredObject | undefined, p: Preconditions): void {
  const generation = current?.generation ?? "0";
  const metageneration = current ? String(current.metageneration) : undefined;
  const fail = () => {
    throw new GcsApiError(412, "At least one of the pre-conditions you specified did not hold.");
  };
  if (p.ifGenerationMatch !== undefined && p.ifGenerationMatch !== generation) fail();
  if (p.ifGenerationNotMatch !== undefined && p.ifGenerationNotMatch === generation) fail();
  if (p.ifMetagenerationMatch !== undefined && p.ifMetagenerationMatch !== metageneration) fail();
  if (p.ifMetagenerationNotMatch !== undefined && p.ifMetagenerationNotMatch === metageneration) {
    fail();
  }
}

/** Documented naming rules: 1–1024 UTF-8 bytes, no CR/LF, not "." or "..", no ACME prefix. */
export function assertValidObjectName(name: string | undefined | null): asserts name is string {
  if (!name) throw new GcsApiError(400, "Required parameter: name", "required");
  const bytes = Buffer.byteLength(name, "utf8");
  if (
    bytes > 1024 ||
    /[\r\n]/.test(name) ||
    name === "." ||
    name === ".." ||
    name.startsWith(".well-known/acme-challenge/")
  ) {
    throw new GcsApiError(400, `Invalid object name: ${JSON.stringify(name)}`);
  }
}

/** 3–63 characters of lowercase letters, digits, `-`, `_`, `.`, starting and ending alphanumeric. */
export function assertValidBucketName(name: unknown): asserts name is string {
  if (typeof name !== "string" || !/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(name)) {
    throw new GcsApiError(400, `Invalid bucket name: ${JSON.stringify(name)}`);
  }
}

/**
 * Bytes being received for an object that does not exist yet: a file in the staging folder,
 * written as the request streams in, with running checksums. `mark()`/`rollback()` let a
 * resumable session forget a chunk whose request failed half-way.
 */
export class StagedBody {
  readonly path: string;
  private readonly handle: FileHandle;
  private checksums = new Checksums();
  private bytes = 0;
  private closed = false;

  private constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.handle = handle;
  }

  static async create(dir: string): Promise<StagedBody> {
    const path = join(dir, randomBytes(12).toString("hex"));
    return new StagedBody(path, await open(path, "w"));
  }

  get size(): number {
    return this.bytes;
  }

  async append(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    let written = 0;
    while (written < chunk.length) {
      const { bytesWritten } = await this.handle.write(
        chunk,
        written,
        chunk.length - written,
        this.bytes + written,
      );
      written += bytesWritten;
    }
    this.checksums.update(chunk);
    this.bytes += chunk.length;
  }

  mark(): { size: number; checksums: Checksums } {
    return { size: this.bytes, checksums: this.checksums.snapshot() };
  }

  async rollback(mark: { size: number; checksums: Checksums }): Promise<void> {
    await this.handle.truncate(mark.size);
    this.bytes = mark.size;
    this.checksums = mark.checksums;
  }

  digest(): { md5Hash: string; crc32c: string } {
    return this.checksums.digest();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }

  async discard(): Promise<void> {
    await this.close();
    await rm(this.path, { force: true });
  }
}

export interface ListQuery {
  prefix: string;
  delimiter: string | undefined;
  /** Resume strictly after this name (decoded page token). */
  after: string | undefined;
  startOffset: string | undefined;
  endOffset: string | undefined;
  maxResults: number;
  includeTrailingDelimiter: boolean;
}

export interface ListPage {
  items: StoredObject[];
  prefixes: string[];
  /** The last name or prefix returned, when more results follow. */
  resumeAfter: string | undefined;
}

/** GCS orders names by their UTF-8 bytes, which is not JavaScript's UTF-16 order. */
const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Buckets and objects: metadata in memory, bytes in files under one temporary folder. */
export class GcsStore {
  private readonly buckets = new Map<string, StoredBucket>();
  private readonly objectsDir: string;
  readonly stagingDir: string;
  private lastGeneration = 0n;

  constructor(dir: string) {
    this.objectsDir = join(dir, "objects");
    this.stagingDir = join(dir, "staging");
  }

  async init(): Promise<void> {
    await mkdir(this.objectsDir, { recursive: true });
    await mkdir(this.stagingDir, { recursive: true });
  }

  /** Generations are microsecond timestamps in GCS; kept strictly increasing here. */
  private nextGeneration(): string {
    const now = BigInt(Date.now()) * 1000n;
    this.lastGeneration = now > this.lastGeneration ? now : this.lastGeneration + 1n;
    return this.lastGeneration.toString();
  }

  createBucket(name: unknown, projectNumber = "0"): StoredBucket {
    assertValidBucketName(name);
    if (this.buckets.has(name)) {
      throw new GcsApiError(
        409,
        "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
      );
    }
    const bucket: StoredBucket = {
      name,
      projectNumber,
      timeCreated: new Date(),
      metageneration: 1,
      objects: new Map(),
    };
    this.buckets.set(name, bucket);
    return bucket;
  }

  bucket(name: string): StoredBucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new GcsApiError(404, "The specified bucket does not exist.");
    return bucket;
  }

  listBuckets(): StoredBucket[] {
    return [...this.buckets.values()].sort((a, b) => byUtf8(a.name, b.name));
  }

  deleteBucket(name: string): void {
    const bucket = this.bucket(name);
    if (bucket.objects.size > 0) {
      throw new GcsApiError(409, "The bucket you tried to delete is not empty.");
    }
    this.buckets.delete(name);
  }

  object(bucketName: string, name: string, generation?: string | null): StoredObject {
    const found = this.bucket(bucketName).objects.get(name);
    if (!found || (generation && generation !== found.generation)) {
      throw new GcsApiError(404, `No such object: ${bucketName}/${name}`);
    }
    return found;
  }

  /** Turns finished staged bytes into the live object, replacing any previous generation. */
  async commit(
    bucketName: string,
    name: string,
    staged: StagedBody,
    init: ObjectInit,
    preconditions: Preconditions,
  ): Promise<StoredObject> {
    const bucket = this.bucket(bucketName);
    const previous = bucket.objects.get(name);
    checkPreconditions(previous, preconditions);
    await staged.close();
    const path = join(this.objectsDir, randomBytes(12).toString("hex"));
    await rename(staged.path, path);
    const now = new Date();
    const stored: StoredObject = {
      ...init,
      contentType: init.contentType || "application/octet-stream",
      bucket: bucketName,
      name,
      generation: this.nextGeneration(),
      metageneration: 1,
      size: staged.size,
      ...staged.digest(),
      timeCreated: now,
      updated: now,
      path,
    };
    // The bucket may have been checked before an await; re-read it so a concurrent delete of
    // the bucket cannot resurrect it.
    this.bucket(bucketName).objects.set(name, stored);
    // Readers of the old generation keep their open file; unlinking it is safe on POSIX.
    if (previous) await rm(previous.path, { force: true });
    return stored;
  }

  /**
   * objects.patch: the given fields replace the stored ones; `metadata` is merged key by key
   * (a null value removes a key, a null `metadata` removes them all). The bytes and the
   * generation stay; the metageneration moves on.
   */
  patchObject(
    bucketName: string,
    name: string,
    patch: ObjectPatch,
    preconditions: Preconditions,
    generation?: string | null,
  ): StoredObject {
    const found = this.object(bucketName, name, generation);
    checkPreconditions(found, preconditions);
    const { metadata, ...fields } = patch;
    const patched: StoredObject = {
      ...found,
      metageneration: found.metageneration + 1,
      updated: new Date(),
    };
    for (const [field, value] of Object.entries(fields) as [keyof typeof fields, unknown][]) {
      patched[field] = typeof value === "string" ? value : undefined;
    }
    patched.contentType ||= "application/octet-stream";
    if (metadata === null) patched.metadata = undefined;
    else if (metadata !== undefined) {
      const merged = new Map(Object.entries(found.metadata ?? {}));
      for (const [k, v] of Object.entries(metadata)) {
        if (v === null) merged.delete(k);
        else merged.set(k, v);
      }
      patched.metadata = Object.fromEntries(merged);
    }
    this.bucket(bucketName).objects.set(name, patched);
    return patched;
  }

  async deleteObject(
    bucketName: string,
    name: string,
    preconditions: Preconditions,
    generation?: string | null,
  ): Promise<void> {
    const found = this.object(bucketName, name, generation);
    checkPreconditions(found, preconditions);
    this.bucket(bucketName).objects.delete(name);
    await rm(found.path, { force: true });
  }

  list(bucketName: string, q: ListQuery): ListPage {
    const bucket = this.bucket(bucketName);
    const names = [...bucket.objects.entries()].sort(([a], [b]) => byUtf8(a, b));
    const items: StoredObject[] = [];
    const prefixes: string[] = [];
    let lastPrefix: string | undefined = q.after;
    let last: string | undefined;
    for (const [name, stored] of names) {
      if (!name.startsWith(q.prefix)) continue;
      if (q.after !== undefined && byUtf8(name, q.after) <= 0) continue;
      if (q.startOffset !== undefined && byUtf8(name, q.startOffset) < 0) continue;
      if (q.endOffset !== undefined && byUtf8(name, q.endOffset) >= 0) continue;
      const rest = name.slice(q.prefix.length);
      const cut = q.delimiter ? rest.indexOf(q.delimiter) : -1;
      const collapsed =
        q.delimiter && cut >= 0 ? q.prefix + rest.slice(0, cut + q.delimiter.length) : undefined;
      if (collapsed !== undefined && collapsed === lastPrefix) {
        // Still inside a prefix already reported (possibly on an earlier page).
        if (q.includeTrailingDelimiter && name === collapsed) items.push(stored);
        continue;
      }
      if (items.length + prefixes.length >= q.maxResults) {
        return { items, prefixes, resumeAfter: last };
      }
      if (collapsed !== undefined) {
        prefixes.push(collapsed);
        lastPrefix = collapsed;
        last = collapsed;
        if (q.includeTrailingDelimiter && name === collapsed) items.push(stored);
      } else {
        items.push(stored);
        last = name;
      }
    }
    return { items, prefixes, resumeAfter: undefined };
  }

  /** Every live object, as "bucket/name", for tests' inventories. */
  allObjects(): string[] {
    const out: string[] = [];
    for (const bucket of this.listBuckets()) {
      for (const name of [...bucket.objects.keys()].sort(byUtf8))
        out.push(`${bucket.name}/${name}`);
    }
    return out;
  }
}
