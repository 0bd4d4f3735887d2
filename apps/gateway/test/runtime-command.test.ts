import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";

const read = (path: string) => readFile(new URL(`../${path}`, import.meta.url), "utf8");

/**
 * The gateway runs with the same V8 flags however it is started: `npm start`, the Docker
 * image, or the `mediagate` command. The benchmark measures `npm start`'s command, so a
 * flag changed in one place only would make the published figures untrue of the others.
 */
describe("the command that runs the gateway", () => {
  it("is the same in the start script, the Docker image and the CLI's shebang", async () => {
    const start = (JSON.parse(await read("package.json")) as { scripts: { start: string } }).scripts
      .start;
    const startWords = start.split(/\s+/);
    expect(startWords[0]).toBe("node");
    expect(startWords.at(-1)).toBe("dist/main.js");
    const flags = startWords.slice(1, -1);
    // Streamed chunks' garbage is collected young, and promoted chunks do not trigger a full
    // GC every ~20 MiB (README, "Memory and GC": half the CPU and 30 MiB of peak RSS).
    expect(flags).toContain("--max-semi-space-size=1");
    expect(flags).toContain("--heap-growing-percent=300");

    const cmd = /^CMD (\[.*\])$/m.exec(await read("Dockerfile"))?.[1];
    expect(cmd, "the Dockerfile has an exec-form CMD").toBeDefined();
    expect(JSON.parse(cmd ?? "[]")).toEqual(["node", ...flags, "apps/gateway/dist/main.js"]);

    const shebang = (await read("src/main.ts")).split("\n")[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${flags.join(" ")}`);
  });
});
