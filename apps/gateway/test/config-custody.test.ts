import { generateMasterKey } from "@mediagate/encryption";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config/load.ts";

const TOKEN = "config-custody-token-0123456789";
const load = (env: Record<string, string | undefined>) =>
  loadConfig({ AUTH_TOKENS: TOKEN, ...env }, "/srv/mediagate");

function problem(env: Record<string, string | undefined>): string {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a configuration error");
}

describe("data custody settings", () => {
  it("keep a SQLite ledger beside the data by default, and turn nothing else on", () => {
    expect(load({}).custody).toMatchObject({
      ledger: { kind: "sqlite", path: "/srv/mediagate/data/mediagate.db" },
      retention: undefined,
      quotas: undefined,
      admin: undefined,
      audit: { file: undefined, downloads: false },
    });
    expect(load({}).privacy).toMatchObject({ encryption: undefined, strip: { sources: "all" } });
  });

  it("read a PostgreSQL ledger, retention, quotas, the audit file and the admin API", () => {
    const custody = load({
      LEDGER_URL: "postgres://mg:pw@db/mediagate",
      RETENTION: "message:365d,thumbnail:30d,profile:never,default:90d",
      QUOTA_FILES_PER_DAY: "500",
      QUOTA_BYTES_TOTAL: "10gb",
      AUDIT_LOG: "audit/log.jsonl",
      ADMIN_TOKENS: "admin-token-0123456789",
      ADMIN_PORT: "9090",
    }).custody;
    expect(custody).toMatchObject({
      ledger: { kind: "postgres", url: "postgres://mg:pw@db/mediagate" },
      quotas: { filesPerDay: 500, bytesTotal: 10 * 1024 ** 3 },
      audit: { file: "/srv/mediagate/audit/log.jsonl" },
      admin: { tokens: ["admin-token-0123456789"], port: 9090, host: "127.0.0.1" },
    });
    const at = new Date("2026-01-01T00:00:00Z");
    expect(custody.retention?.expiry("3", at)?.toISOString()).toBe("2026-01-31T00:00:00.000Z");
    expect(custody.retention?.expiry("profile", at)).toBeNull();
    expect(custody.retention?.expiry("99", at)?.toISOString()).toBe("2026-04-01T00:00:00.000Z");
  });

  it.each([
    [
      { LEDGER: "off", RETENTION: "message:1d" },
      /^Invalid configuration: RETENTION needs the ledger, which LEDGER=off turns off/,
    ],
    [{ LEDGER: "off", QUOTA_BYTES_TOTAL: "1gb" }, /QUOTA_BYTES_TOTAL needs the ledger/],
    [{ LEDGER: "off", ADMIN_TOKENS: "admin-token-0123456789" }, /ADMIN_TOKENS needs the ledger/],
    [{ LEDGER: "postgres" }, /LEDGER_URL is required when LEDGER=postgres/],
    [{ LEDGER_URL: "mysql://x/y" }, /LEDGER_URL must be a URL like postgres:/],
    [{ RETENTION: "message:soon" }, /RETENTION "soon" for message must be a duration/],
    [{ RETENTION: "selfies:1d" }, /RETENTION "selfies" is not a mesibo source/],
    [{ ADMIN_TOKENS: "short" }, /ADMIN_TOKENS token 1 is shorter than 16/],
    [{ ADMIN_PORT: "9090" }, /ADMIN_PORT is only used with ADMIN_TOKENS/],
    [{ STRIP_METADATA: "selfies" }, /STRIP_METADATA "selfies" must be on, off, or mesibo sources/],
  ])("refuses %j in one sentence naming the variable", (env, message) => {
    expect(problem(env)).toMatch(message);
  });
});

describe("encryption settings", () => {
  const key = generateMasterKey();

  it("read the master keys, newest first", () => {
    const older = generateMasterKey();
    const ring = load({ ENCRYPTION: "on", ENCRYPTION_KEYS: `${key.base64},${older.base64}` })
      .privacy.encryption?.keys;
    expect(ring?.ids).toEqual([key.id, older.id]);
  });

  it.each([
    [
      { ENCRYPTION: "on" },
      /ENCRYPTION_KEYS \(or ENCRYPTION_KEY_FILE\) is required when ENCRYPTION=on/,
    ],
    [{ ENCRYPTION: "on", ENCRYPTION_KEYS: "not-base64!" }, /ENCRYPTION_KEYS/],
    [{ ENCRYPTION_KEYS: "x" }, /ENCRYPTION_KEYS is only used with ENCRYPTION=on/],
    [
      { ENCRYPTION: "on", ENCRYPTION_KEYS: key.base64, LEDGER: "off" },
      /ENCRYPTION=on needs the ledger/,
    ],
  ] as [Record<string, string>, RegExp][])("refuses %j in one sentence", (env, message) => {
    expect(problem(env)).toMatch(message);
  });

  it.each(["redirect", "direct"])(
    "refuses DOWNLOAD_MODE=%s with encryption, naming both",
    (mode) => {
      const message = problem({
        ENCRYPTION: "on",
        ENCRYPTION_KEYS: key.base64,
        DOWNLOAD_MODE: mode,
        PUBLIC_OBJECT_BASE_URL: mode === "direct" ? "https://cdn.example.com/m" : undefined,
      });
      expect(message).toMatch(
        new RegExp(`ENCRYPTION=on needs DOWNLOAD_MODE=proxy: with DOWNLOAD_MODE=${mode}`),
      );
    },
  );

  it("never repeats a key in an error message", () => {
    const message = problem({ ENCRYPTION: "on", ENCRYPTION_KEYS: `${key.base64},AAAA` });
    expect(message).not.toContain(key.base64);
    expect(message).not.toContain("AAAA");
  });
});
