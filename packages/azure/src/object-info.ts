import {
  DEFAULT_CONTENT_TYPE,
  StorageError,
  decodeMetadata,
  type Metadata,
  type ObjectInfo,
} from "@mediagate/core";

/** The blob properties every read, stat and download answer carries. */
export interface BlobProperties {
  contentLength?: number;
  contentType?: string;
  contentDisposition?: string;
  etag?: string;
  lastModified?: Date;
  metadata?: Record<string, string>;
}

/** Azure quotes its ETags (`"0x8DC…"`); the contract wants them bare. */
export function bareEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^(W\/)?"(.*)"$/, "$2");
}

/**
 * An ObjectInfo from blob properties; `size` overrides the length for ranged answers, and
 * `metadata` the (encoded) blob metadata when the caller already holds it decoded.
 */
export function objectInfo(
  key: string,
  props: BlobProperties,
  size = props.contentLength,
  metadata: Metadata = decodeMetadata(props.metadata),
): ObjectInfo {
  const etag = bareEtag(props.etag);
  if (size === undefined || etag === undefined || props.lastModified === undefined) {
    throw new StorageError(
      "Internal",
      `Azure's answer for "${key}" lacks its length, ETag or date.`,
      {
        key,
      },
    );
  }
  return {
    key,
    size,
    contentType: props.contentType || DEFAULT_CONTENT_TYPE,
    ...(props.contentDisposition ? { contentDisposition: props.contentDisposition } : {}),
    etag,
    lastModified: props.lastModified,
    metadata: { ...metadata },
  };
}
