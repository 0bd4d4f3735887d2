import { createRequire } from "node:module";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";

/**
 * The parts of s3rver (an untyped CommonJS package) this project relies on, typed once here
 * so the rest of the test server stays strict.
 */

export interface KoaContext {
  method: string;
  /** Decoded path, without the query string. */
  path: string;
  query: Record<string, string | string[] | undefined>;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  length: number | undefined;
  type: string;
  req: IncomingMessage;
  res: ServerResponse;
  set(name: string, value: string): void;
}

export type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

/** Stored object metadata as s3rver's filesystem store returns it. */
export interface StoredMetadata {
  etag: string;
  "last-modified": string;
  "content-length": number;
  [header: string]: string | number;
}

export interface FilesystemStore {
  getMetadata(bucket: string, key: string): Promise<StoredMetadata>;
  putPart(
    bucket: string,
    uploadId: string,
    partNumber: string,
    content: Readable,
  ): Promise<{ size: number; md5: string }>;
  putObject(object: {
    bucket: string;
    key: string;
    content: Readable | Buffer;
    metadata: Record<string, string>;
  }): Promise<{
    size: number;
    md5: string;
  }>;
  putMetadata(
    bucket: string,
    key: string,
    metadata: Record<string, string>,
    md5: string | undefined,
  ): Promise<void>;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  existsObject(bucket: string, key: string): Promise<boolean>;
  deleteObject(bucket: string, key: string): Promise<void>;
  copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata: Record<string, string> | undefined,
  ): Promise<StoredMetadata>;
}

export interface S3rverOptions {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
  vhostBuckets: boolean;
}

export interface S3rverInstance {
  middleware: KoaMiddleware[];
  store: FilesystemStore;
  httpServer?: Server;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

export interface S3ErrorInstance extends Error {
  code: string;
  status: number;
}

const require = createRequire(import.meta.url);

export const S3rver = require("s3rver") as new (options: S3rverOptions) => S3rverInstance;

/** s3rver's error type: thrown from middleware it renders as S3's XML error body. */
export const S3Error = require("s3rver/lib/models/error.js") as new (
  code: string,
  message: string,
  detail?: Record<string, string | number>,
) => S3ErrorInstance;
