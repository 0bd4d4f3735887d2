import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import * as nodeModule from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { PAGE_CSS, PAGE_HTML } from "./shell.ts";

/** A file the status page loads, ready to send. */
export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const JS = "text/javascript; charset=utf-8";

function asset(body: string | Buffer, type: string): Asset {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  const etag = `"${createHash("sha256").update(bytes).digest("base64url").slice(0, 27)}"`;
  return { body: bytes, type, etag };
}

/** Node's type stripper (Node ≥ 22.13 / 23.2); absent on older versions. */
const strip = (nodeModule as { stripTypeScriptTypes?: (code: string) => string })
  .stripTypeScriptTypes;

/** Module names as browsers ask for them: `upload.ts` or `upload.js`, never a path. */
const MODULE_NAME = /^([a-z][a-z0-9-]*)\.(?:js|ts)$/;

/**
 * A folder of ES modules served to browsers. Running from sources (`--conditions=source`,
 * tests and development) the folder holds TypeScript, stripped of its types on first
 * request; running compiled, it holds JavaScript. Either way a module answers to both
 * extensions, since sources import their siblings as `./x.ts` and compiled code as `./x.js`.
 * Outputs are kept: the folders are a handful of small files.
 */
export class ModuleFolder {
  readonly #dir: string;
  readonly #extension: ".ts" | ".js";
  readonly #cache = new Map<string, Asset>();

  constructor(dir: string, extension: ".ts" | ".js") {
    this.#dir = dir;
    this.#extension = extension;
  }

  async get(name: string): Promise<Asset | undefined> {
    const base = MODULE_NAME.exec(name)?.[1];
    if (base === undefined) return undefined;
    const cached = this.#cache.get(base);
    if (cached) return cached;
    let source: string;
    try {
      source = await readFile(`${this.#dir}/${base}${this.#extension}`, "utf8");
    } catch {
      return undefined;
    }
    let code = source;
    if (this.#extension === ".ts") {
      // Sources need the stripper: without it (an older Node) there is nothing to serve.
      if (!strip) return undefined;
      code = strip(source);
    }
    const built = asset(code, JS);
    this.#cache.set(base, built);
    return built;
  }
}

/** The folder holding the module `specifier` resolves to, or undefined when it is not installed. */
function folderOf(specifier: string): ModuleFolder | undefined {
  try {
    const entry = fileURLToPath(import.meta.resolve(specifier));
    return new ModuleFolder(dirname(entry), entry.endsWith(".ts") ? ".ts" : ".js");
  } catch {
    return undefined;
  }
}

/** Everything under /status/: the stylesheet, the page's script, and the upload client. */
export class StatusAssets {
  readonly html = asset(PAGE_HTML, "text/html; charset=utf-8");
  readonly #css = asset(PAGE_CSS, "text/css; charset=utf-8");
  /** src/status/browser (TypeScript) or dist/status/browser (JavaScript), like this file. */
  readonly #page = new ModuleFolder(
    fileURLToPath(new URL("./browser", import.meta.url)),
    import.meta.url.endsWith(".ts") ? ".ts" : ".js",
  );
  /** @mediagate/client: its sources with --conditions=source, else its dist. */
  readonly #client = folderOf("@mediagate/client");

  /** `name` is the path below /status/. */
  async get(name: string): Promise<Asset | undefined> {
    if (name === "status.css") return this.#css;
    if (name.startsWith("client/")) return this.#client?.get(name.slice("client/".length));
    return this.#page.get(name);
  }
}
