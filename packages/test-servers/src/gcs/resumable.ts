import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { errorBody, GcsApiError, sendJson } from "./errors.ts";
import type { Exchange } from "./http.ts";
import { drain, readJsonBody } from "./http.ts";
import { objectResource } from "./resources.ts";
import {
  preconditionsFrom,
  StagedBody,
  type GcsStore,
  type ObjectInit,
  type Preconditions,
  type StoredObject,
} from "./store.ts";
import { objectInitFrom, uploadName } from "./uploads.ts";

/** Non-final chunks are persisted in whole multiples of this (the documented 256 KiB). */
export const CHUNK_GRANULARITY = 256 * 1024;

interface Session {
  id: string;
  bucket: string;
  name: string;
  init: ObjectInit;
  preconditions: Preconditions;
  /** X-Upload-Content-Length, when the client announced the size up front. */
  declaredSize: number | undefined;
  staged: StagedBody;
  state: "open" | "done" | "cancelled";
  result?: StoredObject;
  /** The PUT currently streaming into this session, so a cancel can end it. */
  active?: { req: IncomingMessage; res: ServerResponse };
  /** The object being stored from the session's last byte: a cancel waits for it. */
  committing?: Promise<unknown>;
}

/**
 * What a `Content-Range` on a session PUT asks for. `last`/`total` undefined mean `*`.
 * `query` is a status query (`bytes *` then the total): no data, only "how much is there?".
 */
type ContentRange =
  | { query: true; total: number | undefined }
  | { query: false; first: number; last: number | undefined; total: number | undefined };

function parseContentRange(
  header: string | undefined,
  contentLength: number | undefined,
): ContentRange {
  if (header === undefined) {
    // No Content-Range: the body is the whole object (a single-request resumable upload).
    return {
      query: false,
      first: 0,
      last: contentLength === undefined ? undefined : contentLength - 1,
      total: contentLength,
    };
  }
  const m = /^\s*bytes\s+(?:\*|(\d+)-(\d+|\*))\/(\d+|\*)\s*$/i.exec(header);
  if (!m) throw new GcsApiError(400, `Failed to parse Content-Range header: ${header}`);
  const total = m[3] === "*" ? undefined : Number(m[3]);
  if (m[1] === undefined) return { query: true, total };
  const first = Number(m[1]);
  // `bytes N-*/…` is not HTTP syntax, but it is what @google-cloud/storage sends for a body
  // of unknown length, and GCS takes it as "from N to the end of this request".
  const last = m[2] === "*" ? undefined : Number(m[2]);
  if (last !== undefined && last < first)
    throw new GcsApiError(400, `Invalid Content-Range: ${header}`);
  if (total !== undefined && last !== undefined && last >= total) {
    throw new GcsApiError(400, `Invalid Content-Range: ${header}`);
  }
  return { query: false, first, last, total };
}

/**
 * Resumable upload sessions (`uploadType=resumable`): a POST opens one and answers its
 * session URI in `Location`; PUTs carry the data whole or in chunks (`Content-Range`), each
 * non-final chunk answered 308 with the persisted `Range`; a DELETE cancels (499). The
 * object appears only when the final byte arrives.
 */
export class ResumableSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly store: GcsStore;

  constructor(store: GcsStore) {
    this.store = store;
  }

  /** Sessions that were opened and neither completed nor cancelled. */
  open(): string[] {
    return [...this.sessions.values()]
      .filter((s) => s.state === "open")
      .map(
        (s) =>
          `resumable upload session ${s.id} for ${s.bucket}/${s.name} (${s.staged.size} bytes received)`,
      );
  }

  async start(ex: Exchange, bucket: string): Promise<void> {
    this.store.bucket(bucket);
    const init = objectInitFrom(await readJsonBody(ex.req));
    const name = uploadName(ex.url, init);
    delete init.name;
    const headerType = ex.req.headers["x-upload-content-type"];
    if (init.contentType === undefined && typeof headerType === "string")
      init.contentType = headerType;
    const declared = ex.req.headers["x-upload-content-length"];
    const declaredSize =
      typeof declared === "string" && declared !== "" ? Number(declared) : undefined;
    if (declaredSize !== undefined && !(Number.isSafeInteger(declaredSize) && declaredSize >= 0)) {
      throw new GcsApiError(400, "Invalid X-Upload-Content-Length.");
    }
    const id = randomBytes(24).toString("base64url");
    this.sessions.set(id, {
      id,
      bucket,
      name,
      init,
      preconditions: preconditionsFrom(ex.url.searchParams),
      declaredSize,
      staged: await StagedBody.create(this.store.stagingDir),
      state: "open",
    });
    const location = new URL(`${ex.origin}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o`);
    location.searchParams.set("uploadType", "resumable");
    location.searchParams.set("name", name);
    location.searchParams.set("upload_id", id);
    ex.res.writeHead(200, { location: location.href, "content-length": 0 });
    ex.res.end();
  }

  private session(id: string): Session {
    const session = this.sessions.get(id);
    if (!session) throw new GcsApiError(404, "No such upload session.");
    return session;
  }

  /** DELETE on the session URI: the upload is abandoned and answers 499 from now on. */
  async cancel(ex: Exchange, id: string): Promise<void> {
    const session = this.session(id);
    await drain(ex.req);
    // Completion and cancellation are atomic: a cancel during the commit comes after it.
    await session.committing?.catch(() => undefined);
    if (session.state === "open") {
      session.state = "cancelled";
      const active = session.active;
      session.active = undefined;
      if (active) {
        // The request still streaming into the session ends with the session.
        const body = JSON.stringify(errorBody(499, "Upload cancelled."));
        if (!active.res.headersSent) {
          active.res.writeHead(499, {
            "content-type": "application/json; charset=UTF-8",
            connection: "close",
          });
        }
        active.res.end(body, () => active.req.socket.destroy());
      }
      await session.staged.discard();
    }
    if (session.state === "done") {
      throw new GcsApiError(400, "The upload has already completed; it cannot be cancelled.");
    }
    sendJson(ex.res, 499, errorBody(499, "Upload cancelled."));
  }

  async put(ex: Exchange, id: string): Promise<void> {
    const session = this.session(id);
    if (session.state === "cancelled") {
      await drain(ex.req);
      throw new GcsApiError(499, "Upload cancelled.");
    }
    if (session.state === "done" && session.result) {
      await drain(ex.req);
      sendJson(ex.res, 200, objectResource(session.result, ex.origin));
      return;
    }
    if (session.active) {
      await drain(ex.req);
      throw new GcsApiError(503, "Another request is already writing to this upload session.");
    }
    const lengthHeader = ex.req.headers["content-length"];
    const contentLength = lengthHeader === undefined ? undefined : Number(lengthHeader);
    const range = parseContentRange(ex.req.headers["content-range"], contentLength);
    const total = range.total;
    if (
      total !== undefined &&
      session.declaredSize !== undefined &&
      total !== session.declaredSize
    ) {
      await drain(ex.req);
      throw new GcsApiError(
        400,
        `Content-Range total ${total} does not match X-Upload-Content-Length ${session.declaredSize}.`,
      );
    }
    if (range.query) {
      await drain(ex.req);
      if (total !== undefined && total === session.staged.size) {
        await this.finish(ex, session);
        return;
      }
      this.answerIncomplete(ex.res, session);
      return;
    }
    await this.receive(ex, session, range, total);
  }

  private async receive(
    ex: Exchange,
    session: Session,
    range: { first: number; last: number | undefined },
    total: number | undefined,
  ): Promise<void> {
    const persisted = session.staged.size;
    if (range.first > persisted) {
      await drain(ex.req);
      throw new GcsApiError(
        400,
        `Invalid request: the upload has ${persisted} bytes; a chunk starting at ${range.first} leaves a gap.`,
      );
    }
    const { last } = range;
    const final = last === undefined || (total !== undefined && last + 1 === total);
    const expected = last === undefined ? undefined : last - range.first + 1;
    if (!final && expected !== undefined && expected < CHUNK_GRANULARITY) {
      await drain(ex.req);
      throw new GcsApiError(
        400,
        `Invalid request. The number of bytes uploaded is required to be equal or greater than ${CHUNK_GRANULARITY}, except for the final request (it's recommended to be the exact multiple of ${CHUNK_GRANULARITY}). The received request contained ${expected} bytes, which does not meet this requirement.`,
      );
    }
    // A non-final chunk is kept only up to the last whole 256 KiB; the client resends the rest.
    const keepBefore = final
      ? Infinity
      : Math.floor((last + 1) / CHUNK_GRANULARITY) * CHUNK_GRANULARITY;
    const mark = session.staged.mark();
    session.active = ex;
    let offset = range.first;
    try {
      for await (const chunk of ex.req as AsyncIterable<Buffer>) {
        if (session.state !== "open") return;
        const from = Math.max(0, session.staged.size - offset);
        const to = Math.min(chunk.length, keepBefore - offset);
        if (to > from) await session.staged.append(chunk.subarray(from, to));
        offset += chunk.length;
        if (expected !== undefined && offset - range.first > expected) {
          throw new GcsApiError(400, "The request body is longer than its Content-Range.");
        }
      }
      if (session.state !== "open") return;
      if (expected !== undefined && offset - range.first !== expected) {
        throw new GcsApiError(400, "The request body is shorter than its Content-Range.");
      }
    } catch (err) {
      if (session.state === "open") await session.staged.rollback(mark);
      // A client that disconnected mid-chunk gets no answer; the session stays resumable.
      if (ex.req.destroyed && !(err instanceof GcsApiError)) return;
      throw err;
    } finally {
      if (session.active === ex) session.active = undefined;
    }
    if (!final) {
      this.answerIncomplete(ex.res, session);
      return;
    }
    if (total !== undefined && session.staged.size !== total) {
      throw new GcsApiError(
        400,
        `The upload has ${session.staged.size} bytes but Content-Range declared ${total}.`,
      );
    }
    if (session.declaredSize !== undefined && session.staged.size !== session.declaredSize) {
      throw new GcsApiError(
        400,
        `The upload has ${session.staged.size} bytes but X-Upload-Content-Length declared ${session.declaredSize}.`,
      );
    }
    await this.finish(ex, session);
  }

  private async finish(ex: Exchange, session: Session): Promise<void> {
    const committing = this.store.commit(
      session.bucket,
      session.name,
      session.staged,
      session.init,
      session.preconditions,
    );
    session.committing = committing;
    const stored = await committing;
    session.state = "done";
    session.result = stored;
    sendJson(ex.res, 200, objectResource(stored, ex.origin));
  }

  /** 308 with the persisted range; no `Range` header at all while nothing is persisted. */
  private answerIncomplete(res: ServerResponse, session: Session): void {
    const headers: Record<string, string | number> = { "content-length": 0 };
    if (session.staged.size > 0) headers.range = `bytes=0-${session.staged.size - 1}`;
    res.writeHead(308, headers);
    res.end();
  }

  async close(): Promise<void> {
    for (const session of this.sessions.values()) {
      if (session.state === "open") await session.staged.discard();
    }
    this.sessions.clear();
  }
}
