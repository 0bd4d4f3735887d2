import { createHash, randomBytes } from "node:crypto";
import { expect } from "vitest";
import { isLedgerError, type LedgerErrorCode } from "../errors.ts";
import type { Ledger } from "../ledger.ts";
import type { NewRecord } from "../types.ts";

export interface ConformanceDatabase {
  /** A ledger on this database; each call is another instance, as another gateway would be. */
  open(): Promise<Ledger>;
  /** Removes the database once every ledger on it is closed. */
  drop?(): Promise<void>;
}

export interface LedgerConformanceOptions {
  /** Used in describe(). */
  name: string;
  /** Creates an empty database. */
  database(): Promise<ConformanceDatabase>;
  /**
   * Takes the database server away and brings it back, data intact (PostgreSQL). The outage
   * tests are registered only where this is given.
   */
  outage?: { down(): Promise<void>; up(): Promise<void> };
}

/** 12:00 UTC on a fixed day: tests drive the clock, so day boundaries are where they say. */
export const T0 = new Date(Date.UTC(2030, 0, 15, 12));
export const DAY = 86_400_000;
export const MIB = 1024 * 1024;
export const at = (ms: number) => new Date(T0.getTime() + ms);

const hex = (n: number) => randomBytes(n).toString("hex");

/** A fresh id, unique across runs (tests on one database never see each other's data). */
export const fresh = (prefix: string) => `${prefix}-${hex(6)}`;

export function newRecord(overrides: Partial<NewRecord> = {}): NewRecord {
  return {
    key: `t/${hex(12)}`,
    backend: "fs",
    uid: null,
    mid: null,
    source: 0,
    name: "photo.jpg",
    size: 1000,
    sha256: createHash("sha256").update(hex(8)).digest("hex"),
    contentType: "image/jpeg",
    createdAt: T0,
    expiresAt: null,
    attributes: {},
    ...overrides,
  };
}

export async function expectLedgerError(
  promise: Promise<unknown>,
  code: LedgerErrorCode,
): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a LedgerError ${code}`).toBeDefined();
  expect(isLedgerError(err), `not a LedgerError: ${String(err)}`).toBe(true);
  expect((err as { code: string }).code, String(err)).toBe(code);
}

/** Databases and ledgers opened by one test, closed and dropped after it. */
export class LedgerSuiteContext {
  readonly options: LedgerConformanceOptions;
  private ledgers: Ledger[] = [];
  private databases: ConformanceDatabase[] = [];
  private sharedDb: ConformanceDatabase | undefined;
  private sharedLedger: Ledger | undefined;

  constructor(options: LedgerConformanceOptions) {
    this.options = options;
  }

  /** One database for the tests that keep to their own uids and keys. */
  get shared(): Ledger {
    if (!this.sharedLedger) throw new Error("the shared ledger is opened in beforeAll");
    return this.sharedLedger;
  }

  async start(): Promise<void> {
    this.sharedDb = await this.options.database();
    this.sharedLedger = await this.sharedDb.open();
  }

  /** An empty database of its own, for tests that see everything in it (claims, listAll). */
  async isolated(): Promise<{ ledger: Ledger; another(): Promise<Ledger> }> {
    const another = await this.emptyDatabase();
    return { ledger: await another(), another };
  }

  /** An empty database nobody has opened yet; the function opens instances on it. */
  async emptyDatabase(): Promise<() => Promise<Ledger>> {
    const db = await this.options.database();
    this.databases.push(db);
    return async () => {
      const ledger = await db.open();
      this.ledgers.push(ledger);
      return ledger;
    };
  }

  /** A second instance on the shared database. */
  async anotherShared(): Promise<Ledger> {
    const ledger = await (this.sharedDb as ConformanceDatabase).open();
    this.ledgers.push(ledger);
    return ledger;
  }

  async afterEach(): Promise<void> {
    const ledgers = this.ledgers.splice(0);
    await Promise.all(ledgers.map((l) => l.close().catch(() => undefined)));
    for (const db of this.databases.splice(0)) await db.drop?.();
  }

  async finish(): Promise<void> {
    await this.afterEach();
    await this.sharedLedger?.close().catch(() => undefined);
    await this.sharedDb?.drop?.();
  }
}
