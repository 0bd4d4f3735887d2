import type { NextFunction, Request, Response } from "express";
import { Router } from "express";
import type { StorageAdapter } from "@mediagate/core";
import type { Ledger } from "@mediagate/ledger";
import type { Audit } from "../custody/audit.ts";
import type { Eraser } from "../custody/eraser.ts";
import { exportUid } from "../custody/export.ts";
import { askLedger } from "../custody/ledger-hook.ts";
import type { RetentionSweeper } from "../custody/retention.ts";
import { HttpError } from "../http/errors.ts";
import { isObjectKey } from "../upload/keys.ts";
import { DOWNLOAD_PREFIX } from "../upload/public-url.ts";
import { adminAuth } from "./auth.ts";

export interface AdminOptions {
  tokens: readonly string[];
  ledger: Ledger;
  storage: StorageAdapter;
  eraser: Eraser;
  audit: Audit;
  sweeper: RetentionSweeper | undefined;
  /** The bytes of an object as its owner sees them (decrypted when encryption is on). */
  open: (key: string) => Promise<import("node:stream").Readable>;
  /** Where exports build their manifest. */
  workDir: string;
}

const ID = /^\d{1,20}$/;

function uidOf(req: Request): string {
  const uid = String(req.params.uid);
  if (!ID.test(uid)) throw new HttpError("INVALID_UID", "uid must be a mesibo user id (digits).");
  return uid;
}

/** A key, or a download URL naming one (the gateway's, or a redirect/CDN URL ending in it). */
function keyOf(value: unknown): string {
  if (typeof value !== "string" || value === "") {
    throw new HttpError("BAD_REQUEST", "Name the object with ?key= or ?url=.");
  }
  let key = value;
  try {
    const url = new URL(value);
    const at = url.pathname.indexOf(DOWNLOAD_PREFIX);
    key = at >= 0 ? url.pathname.slice(at + DOWNLOAD_PREFIX.length) : url.pathname.slice(1);
  } catch {
    // Not a URL: a key.
  }
  if (!isObjectKey(key))
    throw new HttpError("BAD_REQUEST", "That is not a key or download URL of this gateway.");
  return key;
}

const wrap =
  (handler: (req: Request, res: Response) => Promise<void>) =>
  (req: Request, res: Response, next: NextFunction) =>
    handler(req, res).catch(next);

/**
 * The admin API (off unless ADMIN_TOKENS is set): a uid's files and usage, erasure of a
 * uid, a message or one object, a uid's export as a tar archive, and a retention sweep now.
 * Answers are JSON in the uploads' shape; every call is an audit event.
 */
export function adminRouter(options: AdminOptions): Router {
  const { ledger, eraser, audit } = options;
  const router = Router();
  router.use("/admin", adminAuth(options.tokens));
  router.use("/admin", (req, res, next) => {
    res.once("finish", () =>
      audit.record({
        event: "admin",
        actor: String(res.locals.admin),
        method: req.method,
        path: req.originalUrl.split("?")[0] ?? "",
        status: res.statusCode,
      }),
    );
    res.set("Cache-Control", "no-store");
    next();
  });

  router.get(
    "/admin/uids/:uid/files",
    wrap(async (req, res) => {
      const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new HttpError("BAD_REQUEST", "limit must be a whole number from 1 to 1000.");
      }
      const cursor = typeof req.query.cursor === "string" ? req.query.cursor : null;
      const page = await askLedger(() => ledger.listByUid(uidOf(req), { cursor, limit }));
      res.json({ result: true, files: page.items, cursor: page.cursor });
    }),
  );

  router.get(
    "/admin/uids/:uid/usage",
    wrap(async (req, res) => {
      const usage = await askLedger(() => ledger.usage(uidOf(req), new Date()));
      res.json({ result: true, usage });
    }),
  );

  router.post(
    "/admin/uids/:uid/erase",
    wrap(async (req, res) => {
      const job = await askLedger(() => eraser.erase(uidOf(req), String(res.locals.admin)));
      if (req.query.wait === "true") {
        // However long it takes, and wherever it runs; a client that hangs up stops the wait.
        const gone = new AbortController();
        res.once("close", () => gone.abort());
        return void res.json({ result: true, erasure: await eraser.finished(job.id, gone.signal) });
      }
      res.status(202).json({ result: true, erasure: job });
    }),
  );

  router.get(
    "/admin/erasures/:id",
    wrap(async (req, res) => {
      const job = await askLedger(() => ledger.getErasure(String(req.params.id)));
      if (!job) throw new HttpError("NOT_FOUND", "No such erasure.");
      res.json({ result: true, erasure: job });
    }),
  );

  router.delete(
    "/admin/messages/:mid",
    wrap(async (req, res) => {
      const mid = String(req.params.mid);
      if (!ID.test(mid))
        throw new HttpError("INVALID_MID", "mid must be a mesibo message id (digits).");
      const uid = typeof req.query.uid === "string" ? req.query.uid : undefined;
      const records = await askLedger(() => ledger.listByMid(mid, uid ? { uid } : {}));
      for (const record of records) {
        await eraser.removeObject(record);
        audit.record({
          event: "erase.object",
          actor: String(res.locals.admin),
          key: record.key,
          uid: record.uid,
          reason: "message",
        });
      }
      res.json({ result: true, removed: records.length });
    }),
  );

  router.delete(
    "/admin/objects",
    wrap(async (req, res) => {
      const key = keyOf(req.query.key ?? req.query.url);
      const record = await askLedger(() => ledger.get(key));
      await eraser.removeObject({ key });
      audit.record({
        event: "erase.object",
        actor: String(res.locals.admin),
        key,
        uid: record?.uid ?? null,
        reason: "object",
      });
      res.json({ result: true, removed: record ? 1 : 0 });
    }),
  );

  router.get(
    "/admin/uids/:uid/export",
    wrap(async (req, res) => {
      const uid = uidOf(req);
      await askLedger(() => ledger.check());
      res.status(200).set({
        "Content-Type": "application/x-tar",
        "Content-Disposition": `attachment; filename="mediagate-uid-${uid}.tar"`,
      });
      const gone = new AbortController();
      res.once("close", () => gone.abort());
      const outcome = await exportUid(
        { ledger, uid, open: options.open, signal: gone.signal, workDir: options.workDir },
        res,
      ).catch(() => ({ files: 0, bytes: 0, complete: false }));
      audit.record({ event: "export", actor: String(res.locals.admin), uid, ...outcome });
    }),
  );

  router.post(
    "/admin/retention/sweep",
    wrap(async (req, res) => {
      if (!options.sweeper) throw new HttpError("BAD_REQUEST", "RETENTION is not configured.");
      const given = typeof req.query.now === "string" ? new Date(req.query.now) : new Date();
      if (Number.isNaN(given.getTime())) throw new HttpError("BAD_REQUEST", "now must be a date.");
      const removed = await options.sweeper.sweep(given);
      res.json({ result: true, removed });
    }),
  );
  return router;
}
