/**
 * What the typical Express tutorial builds for uploads to a local folder: multer's
 * `diskStorage` writing each file under a random name, then a JSON answer. No metadata is
 * kept and nothing is fsynced; like the gateway it refuses a bad token before the first
 * byte is stored (multer has parsed the fields that came before the file by then).
 */
import express from "express";
import multer from "multer";
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { extname } from "node:path";
import { authorized, Unauthorized } from "./form-auth.ts";
import { failureAnswer, serve, uploadAnswer } from "./serve.ts";

const dir = process.env.BENCH_DIR;
if (!dir) throw new Error("BENCH_DIR is not set.");

const upload = multer({
  storage: multer.diskStorage({
    destination: dir,
    filename: (req, file, cb) => {
      if (!authorized(req.body)) return cb(new Unauthorized(), "");
      cb(null, `${randomUUID()}${extname(file.originalname)}`);
    },
  }),
  limits: { fileSize: 2 ** 30 },
});

const app = express();
app.post(["/", "/upload"], upload.single("file"), (req, res) => {
  if (!req.file) {
    res.status(400).type("application/json").send(failureAnswer("no file"));
    return;
  }
  res.type("application/json").send(uploadAnswer(`http://127.0.0.1/${req.file.filename}`));
});
app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
  const status = err instanceof Unauthorized ? 401 : 500;
  res.status(status).type("application/json").send(failureAnswer(err.message));
});
serve(createServer(app));
