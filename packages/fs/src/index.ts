export { FsAdapter, type FsAdapterOptions } from "./fs-adapter.ts";
export type { CommitStep } from "./commit.ts";
export type { SweepResult } from "./sweep.ts";
export { RESERVED_DIR } from "./layout.ts";
