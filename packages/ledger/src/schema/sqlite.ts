import type { Migration } from "./migration.ts";

/**
 * SQLite schema, one entry per version, never edited once released (add a new version).
 * STRICT tables; times are epoch milliseconds; text compares as bytes (BINARY), which is
 * the UTF-8 order storage backends list keys in.
 */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "objects, usage, reservations, erasures, keys",
    statements: [
      `CREATE TABLE mg_objects (
        key TEXT PRIMARY KEY NOT NULL,
        backend TEXT NOT NULL,
        uid TEXT,
        mid TEXT,
        source INTEGER NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        content_type TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        state TEXT NOT NULL DEFAULT 'stored',
        attributes TEXT NOT NULL DEFAULT '{}',
        claim_owner TEXT,
        claim_until INTEGER
      ) STRICT`,
      `CREATE INDEX mg_objects_uid ON mg_objects (uid, created_at, key) WHERE uid IS NOT NULL`,
      `CREATE INDEX mg_objects_mid ON mg_objects (mid, key) WHERE mid IS NOT NULL`,
      `CREATE INDEX mg_objects_expiry ON mg_objects (expires_at) WHERE expires_at IS NOT NULL`,
      `CREATE TABLE mg_usage (
        uid TEXT PRIMARY KEY NOT NULL,
        files INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        day INTEGER NOT NULL,
        day_files INTEGER NOT NULL,
        day_bytes INTEGER NOT NULL
      ) STRICT`,
      `CREATE TABLE mg_reservations (
        key TEXT PRIMARY KEY NOT NULL,
        uid TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        lease_until INTEGER NOT NULL
      ) STRICT`,
      `CREATE INDEX mg_reservations_uid ON mg_reservations (uid)`,
      `CREATE INDEX mg_reservations_lease ON mg_reservations (lease_until)`,
      `CREATE TABLE mg_erasures (
        id TEXT PRIMARY KEY NOT NULL,
        uid TEXT NOT NULL,
        total INTEGER NOT NULL,
        done INTEGER NOT NULL,
        cursor TEXT,
        started_at INTEGER NOT NULL,
        finished_at INTEGER
      ) STRICT`,
      `CREATE INDEX mg_erasures_uid ON mg_erasures (uid, started_at)`,
      `CREATE UNIQUE INDEX mg_erasures_running ON mg_erasures (uid) WHERE finished_at IS NULL`,
      `CREATE TABLE mg_keys (
        owner TEXT PRIMARY KEY NOT NULL,
        wrapped BLOB NOT NULL,
        master_key_id TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT`,
    ],
  },
  {
    version: 2,
    name: "erasure job leases",
    statements: [
      `ALTER TABLE mg_erasures ADD COLUMN runner TEXT`,
      `ALTER TABLE mg_erasures ADD COLUMN lease_until INTEGER`,
    ],
  },
];
