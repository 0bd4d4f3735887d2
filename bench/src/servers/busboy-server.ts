import busboy, { type FileInfo } from "busboy";
import { createServer, type Server } from "node:http";
import type { Readable } from "node:stream";
import { failureAnswer, uploadAnswer } from "./serve.ts";

/** Stores one file part; resolves with the name its URL is answered with. */
export type StoreFile = (
  file: Readable,
  info: FileInfo,
  fields: Readonly<Record<string, string>>,
) => Promise<string>;

/**
 * The bare node:http + busboy server the busboy references share, so they differ only in
 * how a file is stored: the form parsed with no framework, the one file part handed to
 * `store` with the fields that came before it, mesibo's JSON answered once it is stored.
 */
export function busboyServer(store: StoreFile): Server {
  return createServer((req, res) => {
    const answer = (status: number, body: string) => {
      if (res.headersSent) return;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(body);
    };
    let stored: Promise<string> | undefined;
    const fields: Record<string, string> = {};
    const form = busboy({ headers: req.headers, limits: { files: 1 } });
    form.on("field", (name, value) => (fields[name] = value));
    form.on("file", (_field, file, info) => {
      stored = store(file, info, fields);
    });
    form.on("close", () => {
      if (!stored) return answer(400, failureAnswer("no file"));
      stored.then(
        (name) => answer(200, uploadAnswer(`http://127.0.0.1/${name}`)),
        (err: Error) => answer(500, failureAnswer(err.message)),
      );
    });
    form.on("error", (err: Error) => {
      req.unpipe(form);
      req.resume();
      answer(400, failureAnswer(err.message));
    });
    req.pipe(form);
  });
}
