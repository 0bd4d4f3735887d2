import { expect } from "vitest";
import { TOKEN } from "./backend-session.ts";
import type { Answer } from "./http.ts";
import type { Part } from "./multipart.ts";

/** mesibo's upload fields (valid by default; `undefined` leaves one out), then the file. */
export function uploadForm(
  overrides: Record<string, string | undefined> = {},
  file: { body: Buffer | string; filename?: string; type?: string } = { body: "hello" },
  { fileFirst = false }: { fileFirst?: boolean } = {},
): Part[] {
  const fields = Object.entries({
    op: "upload",
    auth: TOKEN,
    uid: "42",
    mid: "1001",
    source: "message",
    ...overrides,
  })
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => ({ name, value }));
  const part: Part = {
    name: "file",
    filename: file.filename ?? "photo.jpg",
    type: file.type ?? "image/jpeg",
    body: file.body,
  };
  return fileFirst ? [part, ...fields] : [...fields, part];
}

export const errorCode = (answer: Answer) =>
  (answer.json as { error?: { code?: string } } | undefined)?.error?.code;

/** The one refusal shape: status, stable code, JSON `result: false`. */
export function expectRefusal(answer: Answer, status: number, code: string): void {
  expect({ status: answer.status, code: errorCode(answer) }).toEqual({ status, code });
  expect(answer.headers["content-type"]).toMatch(/^application\/json/);
  expect(answer.json).toMatchObject({
    result: false,
    error: { code, message: expect.any(String) },
  });
}

/** A 429 with a Retry-After within the one-minute window. */
export function expectRateLimited(answer: Answer): void {
  expectRefusal(answer, 429, "RATE_LIMITED");
  const retryAfter = Number(answer.headers["retry-after"]);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

export const uploadedUrl = (answer: Answer): string => {
  expect({ status: answer.status, json: answer.json }).toMatchObject({
    status: 200,
    json: { result: true, url: expect.any(String) },
  });
  return (answer.json as { url: string }).url;
};
