export { FsAdapter, type FsAdapterOptions } from "./fs-adapter.ts";
export { RESERVED_DIR } from "./layout.ts";
