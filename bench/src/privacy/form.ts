/**
 * Posts a real file (a photo, a video) as a mesibo client does: one multipart form, the
 * fields first, then the file part. The file's bytes are written as they are, framed by a
 * small preamble and epilogue, so N uploads of one file copy nothing in this process.
 */
import { randomBytes } from "node:crypto";
import { request, type Agent, type IncomingMessage } from "node:http";
import { BENCH_TOKEN } from "../gateway.ts";
import type { MediaFile } from "./media.ts";

const STALL_MS = 60_000;

/** The fields a mesibo client sends before the file (a unique mid per upload). */
function fields(index: number): Record<string, string> {
  return {
    op: "upload",
    auth: BENCH_TOKEN,
    uid: "1001",
    mid: String(2_000_000 + index),
    source: "0",
  };
}

/** Uploads `file` and resolves with the URL of mesibo's `{"result": true, "url"}` answer. */
export async function postMedia(
  agent: Agent,
  uploadUrl: string,
  file: MediaFile,
  index: number,
): Promise<string> {
  const boundary = `----mediagate-bench-${randomBytes(14).toString("hex")}`;
  const head = Object.entries(fields(index))
    .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
    .join("");
  const preamble = Buffer.from(
    `${head}--${boundary}\r\nContent-Disposition: form-data; name="file"; ` +
      `filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`,
  );
  const epilogue = Buffer.from(`\r\n--${boundary}--\r\n`);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(uploadUrl, {
      method: "POST",
      agent,
      headers: {
        "content-type": `multipart/form-data; boundary=${boundary}`,
        "content-length": preamble.length + file.bytes.length + epilogue.length,
      },
    });
    req.setTimeout(STALL_MS, () => req.destroy(new Error(`upload stalled for ${STALL_MS} ms`)));
    req.once("response", resolve);
    req.once("error", reject);
    req.write(preamble);
    req.write(file.bytes);
    req.end(epilogue);
  });
  let text = "";
  for await (const chunk of res) text += (chunk as Buffer).toString("utf8");
  let answer: { result?: unknown; url?: unknown } = {};
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    // Reported below with the status and the text.
  }
  if (res.statusCode !== 200 || answer.result !== true || typeof answer.url !== "string") {
    throw new Error(`upload of ${file.name} answered ${res.statusCode}: ${text.slice(0, 300)}`);
  }
  return answer.url;
}
