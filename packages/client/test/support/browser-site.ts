import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startStaticServer, type StaticServer } from "@mediagate/test-servers";
import type * as Client from "../../src/index.ts";
import { TOKEN } from "./stack.ts";

const PACKAGE = fileURLToPath(new URL("../..", import.meta.url));

/** What the test page puts on `window` once the compiled client has loaded. */
export interface PageGlobals {
  mediagate: typeof Client;
  /** The form mesibo sends (op, auth, uid 42, mid, source 0, then the file), as FormData. */
  mesiboForm(token: string, mid: string, file: Blob, fileName: string): FormData;
}

/**
 * Compiles the client with its own build configuration (what `npm run build` ships) into
 * `<dir>/client`, so the browser runs the real ES modules, not the TypeScript sources.
 */
export async function buildClient(dir: string): Promise<void> {
  const tsc = join(
    createRequire(import.meta.url).resolve("typescript/package.json"),
    "..",
    "bin",
    "tsc",
  );
  const child = spawn(
    process.execPath,
    [
      tsc,
      "-p",
      join(PACKAGE, "tsconfig.build.json"),
      "--outDir",
      join(dir, "client"),
      "--declaration",
      "false",
      "--declarationMap",
      "false",
      "--sourceMap",
      "false",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk));
  const [code] = (await once(child, "close")) as [number | null];
  if (code !== 0) throw new Error(`tsc failed (${code}):\n${output}`);
}

export function makeBuildDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "mediagate-client-build-"));
}

/**
 * The app's site: a page that loads the compiled client (from `buildDir`, read per request,
 * so the build may finish after the server starts) as an ES module, and a `/token` endpoint
 * standing in for the app's backend that hands out upload tokens.
 */
export async function startSite(buildDir: string): Promise<StaticServer> {
  const site = await startStaticServer({ root: buildDir });
  site.route(
    "/index.html",
    `<!doctype html><meta charset="utf-8"><title>mediagate client test</title>
<script>
  window.mesiboForm = (token, mid, file, fileName) => {
    const form = new FormData();
    const fields = { op: "upload", auth: token, uid: "42", mid, source: "0" };
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append("file", file, fileName);
    return form;
  };
</script>
<script type="module">
  import * as mediagate from "/client/index.js";
  window.mediagate = mediagate;
</script>`,
  );
  site.route("/token", TOKEN, "text/plain");
  return site;
}

/** Like Promise.all, but waits for every promise to settle before rejecting with the first failure. */
export async function settleAll(promises: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
}
