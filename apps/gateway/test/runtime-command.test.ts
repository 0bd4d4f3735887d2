import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const read = (path: string) => readFile(new URL(`../${path}`, import.meta.url), "utf8");

/** The start script as `[NAME=value…] node [flags] dist/main.js`. */
async function startScript() {
  const manifest = JSON.parse(await read("package.json")) as { scripts: { start: string } };
  const words = manifest.scripts.start.split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_][A-Z0-9_]*=/.test(words[0] ?? "")) {
    const word = words.shift() ?? "";
    env[word.slice(0, word.indexOf("="))] = word.slice(word.indexOf("=") + 1);
  }
  return { env, words };
}

/**
 * The gateway runs with the same V8 flags and malloc settings however it is started:
 * `npm start`, the Docker image, or the `mediagate` command (flags only: see below). The
 * benchmark measures `npm start`'s command, so a setting changed in one place only would
 * make the published figures untrue of the others.
 */
describe("the command that runs the gateway", () => {
  it("is the same in the start script, the Docker image and the CLI's shebang", async () => {
    const { env, words } = await startScript();
    expect(words[0]).toBe("node");
    expect(words.at(-1)).toBe("dist/main.js");
    const flags = words.slice(1, -1);
    // Streamed chunks' garbage is collected young, and promoted chunks do not trigger a full
    // GC every ~20 MiB (README, "Memory and GC": half the CPU and 30 MiB of peak RSS); a young
    // collection follows every few MiB of new Buffers, not 32 (~20 MiB of peak RSS).
    expect(flags).toContain("--max-semi-space-size=1");
    expect(flags).toContain("--heap-growing-percent=300");
    expect(flags).toContain("--scavenger-max-new-space-capacity-mb=2");
    expect(Object.keys(env)).toEqual(["GLIBC_TUNABLES"]);

    const dockerfile = await read("Dockerfile");
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(cmd, "the Dockerfile has an exec-form CMD").toBeDefined();
    expect(JSON.parse(cmd ?? "[]")).toEqual(["node", ...flags, "apps/gateway/dist/main.js"]);
    // The runtime stage's ENV, which the Kubernetes manifests and docker-compose inherit.
    const runtime = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    expect(runtime).toContain(`    GLIBC_TUNABLES=${env.GLIBC_TUNABLES} \\\n`);

    // A shebang longer than 127 bytes is cut short by Linux before 5.1, so the CLI carries
    // the V8 flags but not GLIBC_TUNABLES (the README says to export it).
    const shebang = (await read("src/main.ts")).split("\n")[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${flags.join(" ")}`);
    expect(Buffer.byteLength(`${shebang}\n`)).toBeLessThanOrEqual(127);
  });

  it("gives glibc's malloc the thresholds it is meant to (glibc ignores a misspelt tunable)", async () => {
    const { env } = await startScript();
    // The dynamic loader lists the tunables as this environment leaves them.
    const loader =
      process.arch === "arm64" ? "/lib/ld-linux-aarch64.so.1" : "/lib64/ld-linux-x86-64.so.2";
    const { stdout } = await promisify(execFile)(loader, ["--list-tunables"], {
      env: { GLIBC_TUNABLES: env.GLIBC_TUNABLES },
    });
    const value = (name: string) =>
      new RegExp(`^glibc\\.malloc\\.${name}: (0x[0-9a-f]+)`, "m").exec(stdout)?.[1];
    // Freed heap up to 64 MiB is kept rather than returned and faulted back in; blocks up to
    // 32 MiB come from the heap. Both are where glibc's own dynamic thresholds end up.
    expect(value("trim_threshold")).toBe("0x4000000");
    expect(value("mmap_threshold")).toBe("0x2000000");
  });
});
