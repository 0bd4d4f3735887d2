import {
  request,
  type Agent,
  type ClientRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from "node:http";
import type { Readable } from "node:stream";
import { multipart, type Part } from "./multipart.ts";

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  signal?: AbortSignal;
}

/** The whole of a response, with its body parsed as JSON where it is JSON. */
export function readAnswer(res: IncomingMessage): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.on("error", reject);
    res.on("end", () => {
      const body = Buffer.concat(chunks);
      const text = body.toString("utf8");
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json });
    });
  });
}

export interface OpenUpload {
  req: ClientRequest;
  /** The answer, or the error that ended the request (a reset, an abort). */
  answer: Promise<Answer | Error>;
}

/**
 * A chunked multipart POST to `<url>/upload` whose body the test writes by hand, to pause,
 * truncate or abort it. `agent: false` sends `Connection: close`; a keep-alive agent asks to
 * keep the connection.
 */
export function openUpload(
  url: string,
  boundary: string,
  agent: Agent | false = false,
): OpenUpload {
  const req = request(`${url}/upload`, {
    method: "POST",
    agent,
    headers: {
      "Content-Type": `multipart/form-data; boundary=${boundary}`,
      "Transfer-Encoding": "chunked",
    },
  });
  const answer = new Promise<Answer | Error>((resolve) => {
    req.on("error", resolve);
    req.on("response", (res) => readAnswer(res).then(resolve, resolve));
  });
  return { req, answer };
}

/** One HTTP request over a fresh connection; resolves with the whole answer. */
export function send(url: string, options: RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // The path goes out exactly as written: URL parsing would resolve "." and ".." segments
    // in the client and hide path tricks from the server under test.
    const origin = /^https?:\/\/[^/]+/.exec(url)?.[0] ?? "";
    const { hostname, port } = new URL(origin);
    const req = request({
      host: hostname.replace(/^\[|\]$/g, ""),
      port,
      path: url.slice(origin.length) || "/",
      method: options.method ?? "GET",
      headers: options.headers,
      signal: options.signal,
      agent: false,
    });
    req.on("error", reject);
    req.on("response", (res) => readAnswer(res).then(resolve, reject));
    const { body } = options;
    if (body === undefined) req.end();
    else if (typeof body === "string" || Buffer.isBuffer(body)) req.end(body);
    else {
      body.on("error", (err) => req.destroy(err));
      body.pipe(req);
    }
  });
}

/** POSTs a streamed multipart form. */
export function postForm(
  url: string,
  parts: Part[],
  headers: Record<string, string> = {},
): Promise<Answer> {
  const form = multipart(parts);
  return send(url, {
    method: "POST",
    headers: { "Content-Type": form.contentType, ...headers },
    body: form.stream,
  });
}
