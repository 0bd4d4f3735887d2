/**
 * The near-limit reference for the fs backend: bare node:http, busboy parsing the form, the
 * file part piped straight into a file. No framework, no validation, no metadata — what the
 * gateway on fs would cost if it did nothing but move bytes.
 *
 * With BENCH_DURABLE=1 it answers only once the file is on disk, the least a durable store
 * does (the fs adapter's contract): written under a temporary name and fsynced, renamed into
 * place, and the folder fsynced so the rename survives a crash.
 */
import { randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { open, rename } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { busboyServer } from "./busboy-server.ts";
import { serve } from "./serve.ts";

const dir = process.env.BENCH_DIR;
if (!dir) throw new Error("BENCH_DIR is not set.");
const durable = process.env.BENCH_DURABLE === "1";

async function syncFolder(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function store(file: NodeJS.ReadableStream, name: string): Promise<string> {
  const path = join(dir as string, name);
  if (!durable) {
    await pipeline(file, createWriteStream(path));
    return name;
  }
  await pipeline(file, createWriteStream(`${path}.tmp`, { flush: true }));
  await rename(`${path}.tmp`, path);
  await syncFolder(dir as string);
  return name;
}

serve(busboyServer((file) => store(file, randomUUID())));
