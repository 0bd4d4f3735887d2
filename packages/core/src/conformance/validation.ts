import { describe, expect, it } from "vitest";
import { supportsSignedUrls, type StorageAdapter } from "../adapter.ts";
import { MAX_KEY_BYTES, MAX_SEGMENT_BYTES } from "../keys.ts";
import type { Metadata } from "../metadata.ts";
import { untouchableBody } from "./bodies.ts";
import type { SuiteContext } from "./context.ts";
import { expectStorageError, firstListStep } from "./errors.ts";

/** Keys every adapter must refuse, each breaking a different rule. */
export const INVALID_KEYS: [string, string][] = [
  ["empty", ""],
  ["'..'", ".."],
  ["'.'", "."],
  ["a '..' segment", "a/../b"],
  ["a '.' segment", "a/./b"],
  ["an empty segment", "a//b"],
  ["a leading '/'", "/abs"],
  ["a trailing '/'", "a/b/"],
  ["a NUL byte", "a\u0000b"],
  ["a backslash", "a\\b"],
  ["a backslash traversal", "..\\etc\\passwd"],
  ["a control character", "a\nb"],
  ["a segment starting with '.'", "a/.hidden"],
  ["an over-long key", `${"k/".repeat(Math.ceil(MAX_KEY_BYTES / 2))}k`],
  ["an over-long segment", "s".repeat(MAX_SEGMENT_BYTES + 1)],
  [
    "an over-long segment of multi-byte characters",
    "é".repeat(Math.floor(MAX_SEGMENT_BYTES / 2) + 1),
  ],
  ["a non-NFC key", "cafe\u0301"],
];

/** List prefixes every adapter must refuse (a trailing '/' and "" are fine here). */
export const INVALID_PREFIXES: [string, string][] = [
  ["'..'", ".."],
  ["'../'", "../"],
  ["a '..' segment", "a/../"],
  ["an empty segment", "a//"],
  ["a leading '/'", "/a"],
  ["just '/'", "/"],
  ["a NUL byte", "a\u0000"],
  ["a backslash", "a\\b"],
];

const INVALID_METADATA: [string, Metadata][] = [
  ["an upper-case key", { Uid: "1" }],
  ["a dashed key", { "x-uid": "1" }],
  ["a key starting with a digit", { "1uid": "1" }],
  ["a non-string value", { uid: 1 as unknown as string }],
  ["values over the size limit", { big: "x".repeat(3000) }],
  ["unicode values over the size limit once encoded", { big: "é".repeat(400) }],
];

/** Every method that takes a key, called with `key` (bodies that fail if touched). */
export function everyKeyedCall(
  adapter: StorageAdapter,
  key: string,
): [string, () => Promise<unknown>][] {
  const calls: [string, () => Promise<unknown>][] = [
    ["write", () => adapter.write(key, untouchableBody().stream)],
    ["read", () => adapter.read(key)],
    ["stat", () => adapter.stat(key)],
    ["delete", () => adapter.delete(key)],
  ];
  if (supportsSignedUrls(adapter)) {
    calls.push(["signedUrl", () => adapter.signedUrl(key, { expiresIn: 60 })]);
  }
  return calls;
}

export function validationTests(ctx: SuiteContext): void {
  describe("invalid keys", () => {
    it.each(INVALID_KEYS)(
      "rejects a key with %s from every method with InvalidKey",
      async (_label, key) => {
        for (const [, call] of everyKeyedCall(ctx.adapter, key)) {
          await expectStorageError(call, "InvalidKey");
        }
      },
    );

    it("rejects invalid keys before touching the body", async () => {
      for (const [, key] of INVALID_KEYS) {
        const body = untouchableBody();
        await expectStorageError(() => ctx.adapter.write(key, body.stream), "InvalidKey");
        expect(body.touched).toBe(false);
      }
    });

    it.each(INVALID_PREFIXES)(
      "rejects a list prefix with %s with InvalidKey",
      async (_label, prefix) => {
        await expectStorageError(() => firstListStep(() => ctx.adapter.list(prefix)), "InvalidKey");
      },
    );

    it("accepts the longest allowed key and segment", async () => {
      const prefix = ctx.freshPrefix();
      const segment = "s".repeat(MAX_SEGMENT_BYTES);
      const key = `${prefix}/${segment}`;
      await ctx.put(key, "long");
      expect((await ctx.adapter.stat(key)).key).toBe(key);
      const nested = `${prefix}/${"n/".repeat(Math.floor((MAX_KEY_BYTES - prefix.length - 2) / 2))}e`;
      expect(Buffer.byteLength(nested)).toBeLessThanOrEqual(MAX_KEY_BYTES);
      expect(Buffer.byteLength(nested)).toBeGreaterThan(MAX_KEY_BYTES - 4);
      await ctx.put(nested, "deep");
      expect((await ctx.adapter.stat(nested)).key).toBe(nested);
    });
  });

  describe("invalid arguments", () => {
    it.each(INVALID_METADATA)(
      "rejects metadata with %s with InvalidArgument",
      async (_label, metadata) => {
        const prefix = ctx.freshPrefix();
        const key = `${prefix}/meta`;
        const body = untouchableBody();
        await expectStorageError(
          () => ctx.adapter.write(key, body.stream, { metadata }),
          "InvalidArgument",
        );
        expect(body.touched).toBe(false);
        await expectStorageError(ctx.adapter.stat(key), "NotFound");
      },
    );

    it("accepts metadata right up to the size limit", async () => {
      const key = `${ctx.freshPrefix()}/meta-max`;
      // 4 bytes of key + 2044 of value = the 2048-byte budget exactly.
      const metadata = { long: "v".repeat(2044) };
      const info = await ctx.put(key, "x", { metadata });
      expect(info.metadata).toEqual(metadata);
      expect((await ctx.adapter.stat(key)).metadata).toEqual(metadata);
    });

    it("rejects a body that is not a stream, a bad contentLength and a bad pageSize", async () => {
      const key = `${ctx.freshPrefix()}/args`;
      await expectStorageError(
        () => ctx.adapter.write(key, "text" as unknown as Parameters<StorageAdapter["write"]>[1]),
        "InvalidArgument",
      );
      await expectStorageError(
        () => ctx.adapter.write(key, untouchableBody().stream, { contentLength: -1 }),
        "InvalidArgument",
      );
      for (const pageSize of [0, -1, 1.5, 100_000]) {
        await expectStorageError(
          () => firstListStep(() => ctx.adapter.list("", { pageSize })),
          "InvalidArgument",
        );
      }
    });
  });
}
