/**
 * A real storage server the gateway's end-to-end suite can run against. The suite runs
 * whole once per fixture listed in ./index.ts.
 */
export interface BackendFixture {
  readonly name: string;
  /** Starts the backend's server (if any) on a free port and returns how to reach it. */
  start(): Promise<RunningBackend>;
}

export interface RunningBackend {
  /** Environment for the gateway: STORAGE_PROVIDER and that provider's variables. */
  env: Record<string, string>;
  /**
   * Everything the backend holds that is not a finished object the test expects:
   * stored objects, temp files, open multipart uploads, uncommitted blocks, sessions…
   * Returned as readable descriptions so a failing assertion says what was left.
   */
  inventory(): Promise<{ objects: string[]; leftovers: string[] }>;
  stop(): Promise<void>;
}
