import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeConformance } from "@mediagate/core/conformance";
import { FsAdapter } from "../src/index.ts";
import { debris } from "./debris.ts";

// The whole suite in both durability modes: turning fsync off must change nothing else.
for (const durable of [true, false]) {
  describeConformance({
    name: durable ? "fs" : "fs (durable: false)",
    signedUrls: false,
    setup: async () => {
      const root = await mkdtemp(join(tmpdir(), "mediagate-fs-conformance-"));
      return {
        adapter: new FsAdapter({ root, durable }),
        leftovers: () => debris(root),
        teardown: () => rm(root, { recursive: true, force: true }),
      };
    },
    missingBucket: () =>
      new FsAdapter({
        root: join(tmpdir(), `mediagate-missing-${process.pid}-${Date.now()}`),
        durable,
      }),
  });
}
