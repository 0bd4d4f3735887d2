export * from "./adapter.js";
export * from "./base-adapter.js";
export * from "./errors.js";
export * from "./keys.js";
export * from "./metadata.js";
export * from "./range.js";
