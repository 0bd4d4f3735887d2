/**
 * What Express users bolt on for S3 today: multer with the `multer-s3` storage engine
 * (lib-storage's Upload underneath, at its defaults), the type sniffed from the first
 * bytes (`AUTO_CONTENT_TYPE`, as the gateway sniffs), a key shaped like the gateway's, and
 * the object metadata the gateway stores that is known before the body: uid, mid, source
 * and the file name. The size and SHA-256, known only once the body has streamed, multer-s3
 * has no way to store: this reference stores less than the gateway does.
 */
import express from "express";
import multer from "multer";
import multerS3 from "multer-s3";
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { extname } from "node:path";
import { endpointFromEnv } from "../backend.ts";
import { s3Client } from "../sdk/s3.ts";
import { backendSdk } from "../sdk/index.ts";
import { authorized, datedKey, Unauthorized } from "./form-auth.ts";
import { failureAnswer, serve, uploadAnswer } from "./serve.ts";

const endpoint = endpointFromEnv();
if (endpoint.provider !== "s3") throw new Error("multer-s3 needs an s3 endpoint.");
await (await backendSdk(endpoint)).ensureBucket();

const fieldsOf = (req: Express.Request) =>
  (req as unknown as { body?: Record<string, string | undefined> }).body ?? {};

const upload = multer({
  storage: multerS3({
    s3: s3Client(endpoint),
    bucket: endpoint.bucket,
    contentType: multerS3.AUTO_CONTENT_TYPE,
    key: (req, file, cb) => {
      if (!authorized(fieldsOf(req))) return cb(new Unauthorized());
      cb(null, datedKey(randomUUID(), extname(file.originalname)));
    },
    // Header-borne metadata travels percent-encoded, as the gateway writes it.
    metadata: (req, file, cb) => {
      const fields = fieldsOf(req);
      cb(null, {
        uid: encodeURIComponent(fields.uid ?? ""),
        mid: encodeURIComponent(fields.mid ?? ""),
        source: encodeURIComponent(fields.source ?? ""),
        filename: encodeURIComponent(file.originalname),
      });
    },
  }),
  limits: { fileSize: 2 ** 30 },
});

const app = express();
app.post(["/", "/upload"], upload.single("file"), (req, res) => {
  const file = req.file as Express.MulterS3.File | undefined;
  if (!file) {
    res.status(400).type("application/json").send(failureAnswer("no file"));
    return;
  }
  res.type("application/json").send(uploadAnswer(`http://127.0.0.1/${file.key}`));
});
app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
  const status = err instanceof Unauthorized ? 401 : 500;
  res.status(status).type("application/json").send(failureAnswer(err.message));
});
serve(createServer(app));
