import type { Migration } from "./migration.ts";

/** Advisory lock keys: (namespace, 0) guards migrations; (namespace, hashtext(uid)) a uid. */
export const LOCK_NAMESPACE = 1835491172; // "mg" + "ld", any constant the app owns

/**
 * PostgreSQL schema, one entry per version, never edited once released (add a new version).
 * Text that is sorted or compared is COLLATE "C" (byte order: the UTF-8 order storage
 * backends list keys in, and the order SQLite uses). The hot paths (commit, admission,
 * erasure start) are functions: one round trip each, and every statement after the uid's
 * advisory lock sees what the previous holder committed (READ COMMITTED, fresh snapshot per
 * statement in a volatile function).
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "objects, usage, reservations, erasures, keys",
    statements: [
      `CREATE TABLE mg_objects (
        key text COLLATE "C" PRIMARY KEY,
        backend text NOT NULL,
        uid text COLLATE "C",
        mid text COLLATE "C",
        source integer NOT NULL,
        name text NOT NULL,
        size bigint NOT NULL,
        sha256 text NOT NULL,
        content_type text NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint,
        state text NOT NULL DEFAULT 'stored',
        attributes text NOT NULL DEFAULT '{}',
        claim_owner text,
        claim_until bigint
      )`,
      `CREATE INDEX mg_objects_uid ON mg_objects (uid, created_at, key) WHERE uid IS NOT NULL`,
      `CREATE INDEX mg_objects_mid ON mg_objects (mid, key) WHERE mid IS NOT NULL`,
      `CREATE INDEX mg_objects_expiry ON mg_objects (expires_at) WHERE expires_at IS NOT NULL`,
      `CREATE TABLE mg_usage (
        uid text COLLATE "C" PRIMARY KEY,
        files bigint NOT NULL,
        bytes bigint NOT NULL,
        day bigint NOT NULL,
        day_files bigint NOT NULL,
        day_bytes bigint NOT NULL
      )`,
      `CREATE TABLE mg_reservations (
        key text COLLATE "C" PRIMARY KEY,
        uid text COLLATE "C" NOT NULL,
        bytes bigint NOT NULL,
        created_at bigint NOT NULL,
        lease_until bigint NOT NULL
      )`,
      `CREATE INDEX mg_reservations_uid ON mg_reservations (uid)`,
      `CREATE INDEX mg_reservations_lease ON mg_reservations (lease_until)`,
      `CREATE TABLE mg_erasures (
        id text PRIMARY KEY,
        uid text COLLATE "C" NOT NULL,
        total bigint NOT NULL,
        done bigint NOT NULL,
        cursor text,
        started_at bigint NOT NULL,
        finished_at bigint
      )`,
      `CREATE INDEX mg_erasures_uid ON mg_erasures (uid, started_at)`,
      `CREATE UNIQUE INDEX mg_erasures_running ON mg_erasures (uid) WHERE finished_at IS NULL`,
      `CREATE TABLE mg_keys (
        owner text COLLATE "C" PRIMARY KEY,
        wrapped bytea NOT NULL,
        master_key_id text NOT NULL,
        created_at bigint NOT NULL
      )`,
      `CREATE FUNCTION mg_lock_uid(p_uid text) RETURNS void LANGUAGE sql AS
        $$ SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}, hashtext(p_uid)) $$`,
      // The erasure that overlapped an upload (running, or finished after it started).
      `CREATE FUNCTION mg_erasure_overlapping(p_uid text, p_since bigint) RETURNS text
        LANGUAGE sql AS $$
          SELECT id FROM mg_erasures
          WHERE uid = p_uid AND (finished_at IS NULL OR finished_at > p_since)
          ORDER BY started_at DESC LIMIT 1 $$`,
      `CREATE FUNCTION mg_record(p_key text, p_backend text, p_uid text, p_mid text,
          p_source integer, p_name text, p_size bigint, p_sha256 text, p_content_type text,
          p_created_at bigint, p_expires_at bigint, p_attributes text, p_started_at bigint,
          p_day bigint) RETURNS text LANGUAGE plpgsql AS $$
        DECLARE v_erasure text;
        BEGIN
          IF p_uid IS NOT NULL THEN
            PERFORM mg_lock_uid(p_uid);
            v_erasure := mg_erasure_overlapping(p_uid, p_started_at);
            IF v_erasure IS NOT NULL THEN
              DELETE FROM mg_reservations WHERE key = p_key;
              RETURN 'refused:' || v_erasure;
            END IF;
          END IF;
          INSERT INTO mg_objects (key, backend, uid, mid, source, name, size, sha256,
              content_type, created_at, expires_at, attributes)
            VALUES (p_key, p_backend, p_uid, p_mid, p_source, p_name, p_size, p_sha256,
              p_content_type, p_created_at, p_expires_at, p_attributes);
          DELETE FROM mg_reservations WHERE key = p_key;
          IF p_uid IS NOT NULL THEN
            INSERT INTO mg_usage AS u (uid, files, bytes, day, day_files, day_bytes)
              VALUES (p_uid, 1, p_size, p_day, 1, p_size)
              ON CONFLICT (uid) DO UPDATE SET
                files = u.files + 1,
                bytes = u.bytes + p_size,
                day_files = CASE WHEN p_day > u.day THEN 1
                  WHEN p_day = u.day THEN u.day_files + 1 ELSE u.day_files END,
                day_bytes = CASE WHEN p_day > u.day THEN p_size
                  WHEN p_day = u.day THEN u.day_bytes + p_size ELSE u.day_bytes END,
                day = GREATEST(u.day, p_day);
          END IF;
          RETURN 'recorded';
        END $$`,
      // Whether one more upload of p_bytes fits, next to every other live reservation.
      `CREATE FUNCTION mg_admit(p_uid text, p_key text, p_bytes bigint, p_now bigint,
          p_day bigint, p_files_per_day bigint, p_bytes_per_day bigint, p_bytes_total bigint,
          OUT o_status text, OUT o_detail text, OUT o_max bigint, OUT o_used bigint,
          OUT o_requested bigint) LANGUAGE plpgsql AS $$
        DECLARE
          v_usage mg_usage%ROWTYPE;
          v_files bigint; v_bytes bigint;
          v_day_files bigint := 0; v_day_bytes bigint := 0; v_total bigint := 0;
        BEGIN
          SELECT id INTO o_detail FROM mg_erasures WHERE uid = p_uid AND finished_at IS NULL;
          IF FOUND THEN o_status := 'erasing'; RETURN; END IF;
          SELECT * INTO v_usage FROM mg_usage WHERE uid = p_uid;
          IF FOUND THEN
            v_total := v_usage.bytes;
            IF v_usage.day = p_day THEN
              v_day_files := v_usage.day_files; v_day_bytes := v_usage.day_bytes;
            END IF;
          END IF;
          SELECT count(*), coalesce(sum(r.bytes), 0) INTO v_files, v_bytes
            FROM mg_reservations r
            WHERE r.uid = p_uid AND r.key <> p_key AND r.lease_until > p_now;
          o_status := 'exceeded';
          IF p_files_per_day >= 0 AND v_day_files + v_files + 1 > p_files_per_day THEN
            o_detail := 'filesPerDay'; o_max := p_files_per_day;
            o_used := v_day_files + v_files; o_requested := 1; RETURN;
          END IF;
          IF p_bytes_per_day >= 0 AND v_day_bytes + v_bytes + p_bytes > p_bytes_per_day THEN
            o_detail := 'bytesPerDay'; o_max := p_bytes_per_day;
            o_used := v_day_bytes + v_bytes; o_requested := p_bytes; RETURN;
          END IF;
          IF p_bytes_total >= 0 AND v_total + v_bytes + p_bytes > p_bytes_total THEN
            o_detail := 'bytesTotal'; o_max := p_bytes_total;
            o_used := v_total + v_bytes; o_requested := p_bytes; RETURN;
          END IF;
          o_status := 'admitted';
        END $$`,
      `CREATE FUNCTION mg_reserve(p_key text, p_uid text, p_bytes bigint, p_now bigint,
          p_lease_until bigint, p_day bigint, p_files_per_day bigint, p_bytes_per_day bigint,
          p_bytes_total bigint, OUT o_status text, OUT o_detail text, OUT o_max bigint,
          OUT o_used bigint, OUT o_requested bigint) LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM mg_lock_uid(p_uid);
          SELECT a.o_status, a.o_detail, a.o_max, a.o_used, a.o_requested
            INTO o_status, o_detail, o_max, o_used, o_requested
            FROM mg_admit(p_uid, p_key, p_bytes, p_now, p_day, p_files_per_day,
              p_bytes_per_day, p_bytes_total) a;
          IF o_status = 'admitted' THEN
            INSERT INTO mg_reservations (key, uid, bytes, created_at, lease_until)
              VALUES (p_key, p_uid, p_bytes, p_now, p_lease_until);
          END IF;
        END $$`,
      `CREATE FUNCTION mg_grow(p_key text, p_bytes bigint, p_now bigint, p_lease_until bigint,
          p_day bigint, p_files_per_day bigint, p_bytes_per_day bigint, p_bytes_total bigint,
          OUT o_status text, OUT o_detail text, OUT o_max bigint, OUT o_used bigint,
          OUT o_requested bigint) LANGUAGE plpgsql AS $$
        DECLARE v_uid text;
        BEGIN
          SELECT uid INTO v_uid FROM mg_reservations WHERE key = p_key;
          IF NOT FOUND THEN o_status := 'missing'; RETURN; END IF;
          PERFORM mg_lock_uid(v_uid);
          PERFORM 1 FROM mg_reservations WHERE key = p_key;
          IF NOT FOUND THEN o_status := 'missing'; RETURN; END IF;
          SELECT a.o_status, a.o_detail, a.o_max, a.o_used, a.o_requested
            INTO o_status, o_detail, o_max, o_used, o_requested
            FROM mg_admit(v_uid, p_key, p_bytes, p_now, p_day, p_files_per_day,
              p_bytes_per_day, p_bytes_total) a;
          IF o_status = 'admitted' THEN
            UPDATE mg_reservations SET bytes = p_bytes, lease_until = p_lease_until
              WHERE key = p_key;
          END IF;
        END $$`,
      `CREATE FUNCTION mg_begin_erasure(p_uid text, p_id text, p_now bigint)
          RETURNS SETOF mg_erasures LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM mg_lock_uid(p_uid);
          RETURN QUERY SELECT * FROM mg_erasures WHERE uid = p_uid AND finished_at IS NULL;
          IF FOUND THEN RETURN; END IF;
          INSERT INTO mg_erasures (id, uid, total, done, cursor, started_at)
            VALUES (p_id, p_uid,
              coalesce((SELECT files FROM mg_usage WHERE uid = p_uid), 0), 0, NULL, p_now);
          RETURN QUERY SELECT * FROM mg_erasures WHERE id = p_id;
        END $$`,
      `CREATE FUNCTION mg_finish_erasure(p_id text, p_now bigint)
          RETURNS SETOF mg_erasures LANGUAGE plpgsql AS $$
        DECLARE v_uid text;
        BEGIN
          SELECT uid INTO v_uid FROM mg_erasures WHERE id = p_id;
          IF NOT FOUND THEN RETURN; END IF;
          PERFORM mg_lock_uid(v_uid);
          UPDATE mg_erasures SET finished_at = p_now WHERE id = p_id AND finished_at IS NULL;
          IF FOUND THEN
            DELETE FROM mg_reservations WHERE uid = v_uid;
            DELETE FROM mg_keys WHERE owner = 'u:' || v_uid;
            DELETE FROM mg_usage WHERE uid = v_uid AND files <= 0;
          END IF;
          RETURN QUERY SELECT * FROM mg_erasures WHERE id = p_id;
        END $$`,
    ],
  },
  {
    version: 2,
    name: "erasure job leases",
    statements: [`ALTER TABLE mg_erasures ADD COLUMN runner text, ADD COLUMN lease_until bigint`],
  },
];
