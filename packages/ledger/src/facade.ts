import { randomUUID } from "node:crypto";
import { LedgerError } from "./errors.ts";
import type { Ledger } from "./ledger.ts";
import type { AsyncOps } from "./ops.ts";
import * as v from "./validate.ts";
import type {
  Admission,
  AppliedMigration,
  ClaimOptions,
  ErasureClaim,
  ErasureJob,
  ErasureProgress,
  GrowOptions,
  LedgerRecord,
  LedgerStats,
  NewKey,
  NewRecord,
  Page,
  PageRequest,
  RecordResult,
  Reservation,
  ReserveInput,
  StoredKey,
  Usage,
} from "./types.ts";

/**
 * The public API over either implementation: validates and normalises arguments once, so
 * SQLite and PostgreSQL agree on what is accepted, and each provides only `AsyncOps`.
 */
export abstract class OpsLedger implements Ledger {
  abstract readonly kind: "sqlite" | "postgres";
  protected abstract readonly ops: AsyncOps;
  abstract check(): Promise<void>;
  abstract close(): Promise<void>;

  async record(record: NewRecord, options: { uploadStartedAt: Date }): Promise<RecordResult> {
    const row = v.recordRow(record);
    const startedAt = v.time("record", "uploadStartedAt", options?.uploadStartedAt);
    const outcome = await this.ops.record(row, startedAt, v.dayOf(row.created_at));
    if (outcome.status === "refused") {
      return { status: "refused", reason: "erasure", erasureId: outcome.erasureId };
    }
    return {
      status: "recorded",
      record: {
        key: row.key,
        backend: row.backend,
        uid: row.uid,
        mid: row.mid,
        source: row.source,
        name: row.name,
        size: row.size,
        sha256: row.sha256,
        contentType: row.content_type,
        createdAt: new Date(row.created_at),
        expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
        attributes: { ...record.attributes },
        state: "stored",
      },
    };
  }

  async get(key: string): Promise<LedgerRecord | undefined> {
    return this.ops.get(v.keyArg("get", key));
  }

  async remove(key: string): Promise<boolean> {
    return this.ops.remove(v.keyArg("remove", key));
  }

  async listByUid(uid: string, page?: PageRequest): Promise<Page<LedgerRecord>> {
    const op = "listByUid";
    const after = v.decodeCursor<[number, string]>(op, page?.cursor, ["number", "string"]);
    return this.ops.listByUid(v.uidArg(op, uid), after, v.pageLimit(op, page));
  }

  async listByMid(mid: string, options: { uid?: string } = {}): Promise<LedgerRecord[]> {
    const op = "listByMid";
    const uid = options.uid === undefined ? null : v.uidArg(op, options.uid);
    return this.ops.listByMid(v.idArg(op, "mid", mid), uid);
  }

  async usage(uid: string, now: Date): Promise<Usage> {
    return this.ops.usage(v.uidArg("usage", uid), v.time("usage", "now", now));
  }

  async listAll(page?: PageRequest): Promise<Page<LedgerRecord>> {
    const after = v.decodeCursor<[string]>("listAll", page?.cursor, ["string"]);
    return this.ops.listAll(after?.[0], v.pageLimit("listAll", page));
  }

  async setBackend(key: string, backend: string): Promise<boolean> {
    const op = "setBackend";
    return this.ops.setBackend(v.keyArg(op, key), v.text(op, "backend", backend, 64));
  }

  async stats(): Promise<LedgerStats> {
    return this.ops.stats();
  }

  async reserve(input: ReserveInput): Promise<Admission> {
    const op = "reserve";
    const now = v.time(op, "now", input?.now);
    return this.ops.reserve({
      uid: v.uidArg(op, input.uid),
      key: v.keyArg(op, input.key),
      bytes: v.count(op, "bytes", input.bytes),
      now,
      leaseUntil: now + v.leaseArg(op, input.leaseMs),
      day: v.dayOf(now),
      ...v.limitArgs(op, input.limits),
    });
  }

  async grow(key: string, bytes: number, options: GrowOptions): Promise<Admission> {
    const op = "grow";
    const now = v.time(op, "now", options?.now);
    const admission = await this.ops.grow({
      key: v.keyArg(op, key),
      bytes: v.count(op, "bytes", bytes),
      now,
      leaseUntil: now + v.leaseArg(op, options.leaseMs),
      day: v.dayOf(now),
      ...v.limitArgs(op, options.limits),
    });
    if (admission.status === "missing") {
      throw new LedgerError("Conflict", `grow: no reservation holds "${key}".`, { operation: op });
    }
    return admission;
  }

  async release(key: string): Promise<boolean> {
    return this.ops.release(v.keyArg("release", key));
  }

  async reservationsOf(uid: string): Promise<Reservation[]> {
    return this.ops.reservationsOf(v.uidArg("reservationsOf", uid));
  }

  async expiredReservations(options: { before: Date; limit: number }): Promise<Reservation[]> {
    const op = "expiredReservations";
    const before = v.time(op, "before", options?.before);
    return this.ops.expiredReservations(before, v.positive(op, "limit", options.limit, 1000));
  }

  async claimExpired(options: ClaimOptions): Promise<LedgerRecord[]> {
    const op = "claimExpired";
    const now = v.time(op, "now", options?.now);
    return this.ops.claimExpired(
      now,
      v.positive(op, "limit", options.limit, 1000),
      v.idArg(op, "owner", options.owner),
      now + v.positive(op, "leaseMs", options.leaseMs, 7 * 86_400_000),
    );
  }

  async beginErasure(uid: string, now: Date): Promise<ErasureJob> {
    const op = "beginErasure";
    return this.ops.beginErasure(v.uidArg(op, uid), randomUUID(), v.time(op, "now", now));
  }

  async getErasure(id: string): Promise<ErasureJob | undefined> {
    return this.ops.getErasure(v.idArg("getErasure", "id", id));
  }

  async latestErasure(uid: string): Promise<ErasureJob | undefined> {
    return this.ops.latestErasure(v.uidArg("latestErasure", uid));
  }

  async advanceErasure(id: string, progress: ErasureProgress): Promise<ErasureJob> {
    const op = "advanceErasure";
    const cursor = progress?.cursor === null ? null : v.text(op, "cursor", progress?.cursor, 4096);
    const job = await this.ops.advanceErasure(
      v.idArg(op, "id", id),
      cursor,
      v.count(op, "removed", progress.removed),
    );
    return jobOrConflict(op, id, job, true);
  }

  async finishErasure(id: string, now: Date): Promise<ErasureJob> {
    const op = "finishErasure";
    const job = await this.ops.finishErasure(v.idArg(op, "id", id), v.time(op, "now", now));
    return jobOrConflict(op, id, job, false);
  }

  async claimErasure(id: string, claim: ErasureClaim): Promise<ErasureJob | undefined> {
    const op = "claimErasure";
    const now = v.time(op, "now", claim?.now);
    const leaseMs = claim.leaseMs === 0 ? 0 : v.positive(op, "leaseMs", claim.leaseMs, 86_400_000);
    return this.ops.claimErasure(
      v.idArg(op, "id", id),
      v.idArg(op, "runner", claim.runner),
      now,
      now + leaseMs,
    );
  }

  async unfinishedErasures(): Promise<ErasureJob[]> {
    return this.ops.unfinishedErasures();
  }

  async forgetErasures(finishedBefore: Date): Promise<number> {
    return this.ops.forgetErasures(v.time("forgetErasures", "finishedBefore", finishedBefore));
  }

  async getKey(uid: string | null): Promise<StoredKey | undefined> {
    return this.ops.getKey(v.keyOwner(v.optionalUid("getKey", uid)));
  }

  async putKeyIfAbsent(uid: string | null, key: NewKey): Promise<StoredKey> {
    const op = "putKeyIfAbsent";
    const owner = v.keyOwner(v.optionalUid(op, uid));
    const args = v.newKeyArgs(op, key);
    return this.ops.putKeyIfAbsent(owner, args.wrapped, args.master_key_id, args.created_at);
  }

  async deleteKey(uid: string): Promise<boolean> {
    return this.ops.deleteKey(v.keyOwner(v.uidArg("deleteKey", uid)));
  }

  async listKeys(page?: PageRequest): Promise<Page<StoredKey>> {
    const after = v.decodeCursor<[string]>("listKeys", page?.cursor, ["string"]);
    return this.ops.listKeys(after?.[0], v.pageLimit("listKeys", page));
  }

  async rewrapKey(
    uid: string | null,
    expectedMasterKeyId: string,
    next: { wrapped: Uint8Array; masterKeyId: string },
  ): Promise<boolean> {
    const op = "rewrapKey";
    return this.ops.rewrapKey(
      v.keyOwner(v.optionalUid(op, uid)),
      v.idArg(op, "expectedMasterKeyId", expectedMasterKeyId),
      v.bytesArg(op, next?.wrapped),
      v.idArg(op, "masterKeyId", next.masterKeyId),
    );
  }

  async migrations(): Promise<AppliedMigration[]> {
    return this.ops.migrations();
  }
}

function jobOrConflict(
  op: string,
  id: string,
  job: ErasureJob | undefined,
  mustRun: boolean,
): ErasureJob {
  if (job === undefined) {
    throw new LedgerError("Conflict", `${op}: no erasure job "${id}".`, { operation: op });
  }
  if (mustRun && job.state === "finished") {
    throw new LedgerError("Conflict", `${op}: erasure job "${id}" has finished.`, {
      operation: op,
    });
  }
  return job;
}
