export * from "./adapter.ts";
export * from "./base-adapter.ts";
export * from "./errors.ts";
export * from "./keys.ts";
export * from "./metadata.ts";
export * from "./range.ts";
export * from "./key-order.ts";
export * from "./memory-adapter.ts";
