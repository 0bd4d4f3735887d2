import { defineConfig, type ViteUserConfig } from "vitest/config";

/**
 * One vitest configuration for every workspace. Tests import sibling packages through
 * their "source" export condition, so `npm test` needs no build step, and each run writes
 * a JSON report that .ci/run adds up into its closing `tests:` line.
 */
export function defineProject(overrides: ViteUserConfig["test"] = {}): ViteUserConfig {
  return defineConfig({
    resolve: { conditions: ["source"] },
    ssr: { resolve: { conditions: ["source"], externalConditions: ["source"] } },
    test: {
      include: ["test/**/*.test.ts", "src/**/*.test.ts"],
      reporters: ["default", ["json", { outputFile: "test-results.json" }]],
      // Hang detectors, not performance bars: CI runs every package's suite at once on two
      // cores, where tests that take 5 s alone were seen at 24 s.
      testTimeout: 60_000,
      hookTimeout: 90_000,
      ...overrides,
    },
  });
}
