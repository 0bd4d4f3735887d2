import { Agent, request, type IncomingMessage } from "node:http";
import { pipeline } from "node:stream/promises";
import { multipartBody } from "./payload.ts";

/** One keep-alive connection pool per system under test, as a real client would have. */
export function keepAliveAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 64 });
}

/** The form fields a mesibo client sends with each file. */
export interface UploadForm {
  fields: Record<string, string>;
  fileField: string;
  fileName: string;
  contentType: string;
}

const MAX_ANSWER_BYTES = 64 * 1024;
/**
 * A request that makes no progress for this long has hung; the cell fails instead of waiting
 * forever. Generous: after sending the last byte a client legitimately waits while the
 * backend finishes (s3rver assembling sixteen 512 MiB multipart uploads takes over 30 s).
 */
const STALL_MS = 5 * 60_000;

async function readAnswer(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of res) {
    length += (chunk as Buffer).length;
    if (length <= MAX_ANSWER_BYTES) chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** What an upload's answer said, and how long it took after the request's last byte. */
export interface UploadAnswer {
  url: string;
  /**
   * From the last body byte handed to the kernel to the answer's headers: what a native
   * mesibo client waits through (it gives up after 10 s).
   */
  answerMs: number;
}

/**
 * Posts one multipart upload whose file is `size` bytes generated while sending, and
 * resolves with the URL from mesibo's `{"result": true, "url"}` answer; anything else rejects.
 */
export async function uploadOnce(
  agent: Agent,
  url: string,
  form: UploadForm,
  size: number,
): Promise<UploadAnswer> {
  const body = multipartBody(form.fields, {
    field: form.fileField,
    name: form.fileName,
    type: form.contentType,
    size,
  });
  const req = request(url, {
    method: "POST",
    agent,
    headers: { "content-type": body.contentType, "content-length": body.contentLength },
  });
  req.setTimeout(STALL_MS, () =>
    req.destroy(new Error(`upload made no progress for ${STALL_MS} ms`)),
  );
  let sentAt: number | undefined;
  let answeredAt = 0;
  req.once("finish", () => (sentAt = performance.now()));
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    req.once("response", (res: IncomingMessage) => {
      answeredAt = performance.now();
      resolve(res);
    });
    req.once("error", reject);
  });
  // The server may answer (and close) before the body is sent; its answer explains why.
  const sent = pipeline(body.stream(), req).catch((err: Error) => err);
  const res = await answered;
  const text = await readAnswer(res);
  const sendError = await sent;
  let answer: { result?: unknown; url?: unknown };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new Error(
      `upload answered ${res.statusCode} with a non-JSON body: ${text.slice(0, 200)}`,
    );
  }
  if (res.statusCode !== 200 || answer.result !== true || typeof answer.url !== "string") {
    throw new Error(`upload answered ${res.statusCode}: ${text.slice(0, 300)}`);
  }
  if (sendError instanceof Error) throw sendError;
  // An answer before the last byte (never for a success) counts as immediate.
  return { url: answer.url, answerMs: Math.max(0, answeredAt - (sentAt ?? answeredAt)) };
}

/** An inclusive byte range, as in an HTTP Range header. */
export interface Range {
  start: number;
  end: number;
}

/**
 * GETs `url` (optionally one byte range), discards the body while counting it, and checks
 * the status and that exactly the expected number of bytes arrived.
 */
export async function downloadOnce(
  agent: Agent,
  url: string,
  expectedBytes: number,
  range?: Range,
): Promise<number> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, {
      agent,
      headers: range ? { range: `bytes=${range.start}-${range.end}` } : {},
    });
    req.setTimeout(STALL_MS, () =>
      req.destroy(new Error(`GET made no progress for ${STALL_MS} ms`)),
    );
    req.once("response", resolve);
    req.once("error", reject);
    req.end();
  });
  let received = 0;
  res.on("data", (chunk: Buffer) => {
    received += chunk.length;
  });
  await new Promise<void>((resolve, reject) => {
    res.once("end", resolve);
    res.once("error", reject);
    res.once("aborted", () => reject(new Error("download aborted")));
  });
  const wanted = range ? 206 : 200;
  if (res.statusCode !== wanted) throw new Error(`GET ${url} answered ${res.statusCode}`);
  if (received !== expectedBytes) {
    throw new Error(`GET ${url} sent ${received} bytes, expected ${expectedBytes}`);
  }
  return received;
}
