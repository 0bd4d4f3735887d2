// Each test server adds one export line here.
export {};
export * from "./azurite.ts";
export * from "./gcs/index.ts";
export * from "./s3/index.ts";
export * from "./fault-proxy.ts";
export * from "./postgres.ts";
export * from "./http-fault-proxy.ts";
export * from "./gateway-process.ts";
export * from "./browser.ts";
