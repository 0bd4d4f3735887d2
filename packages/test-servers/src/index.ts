// Each test server adds one export line here.
export {};
export * from "./azurite.ts";
export * from "./gcs/index.ts";
export * from "./s3/index.ts";
export * from "./fault-proxy.ts";
