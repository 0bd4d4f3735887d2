/**
 * The baseline a typical Express tutorial produces: multer's memoryStorage collects the
 * whole file in memory, then one SDK call puts the buffer (fs.writeFile for the folder).
 * It works, and its memory grows with every byte in flight — which is what it is here to show.
 */
import express from "express";
import multer from "multer";
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { endpointFromEnv } from "../backend.ts";
import { backendSdk } from "../sdk/index.ts";
import { failureAnswer, serve, uploadAnswer } from "./serve.ts";

const sdk = await backendSdk(endpointFromEnv());
await sdk.ensureBucket();

const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: 2 ** 30 } });
const app = express();
app.post(["/", "/upload"], upload.single("file"), async (req, res) => {
  if (!req.file) {
    res.status(400).type("application/json").send(failureAnswer("no file"));
    return;
  }
  const key = randomUUID();
  try {
    await sdk.put(key, req.file.buffer, req.file.mimetype);
    res.type("application/json").send(uploadAnswer(`http://127.0.0.1/${key}`));
  } catch (err) {
    res
      .status(500)
      .type("application/json")
      .send(failureAnswer((err as Error).message));
  }
});
app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
  res.status(500).type("application/json").send(failureAnswer(err.message));
});
serve(createServer(app));
