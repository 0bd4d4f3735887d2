import type { Metadata } from "@mediagate/core";
import { contentDisposition, isInlineType } from "../download/headers.ts";

/**
 * The Content-Disposition stored with an object at upload time: `attachment` with its file
 * name for every type the download route would not show inline (HTML, SVG, XML, scripts…),
 * nothing for the rest. Proxy downloads set their own headers; this covers the answers the
 * gateway does not write — a public bucket or CDN in DOWNLOAD_MODE=direct serves what is
 * stored, so an uploaded page must not render there either.
 */
export function storedDisposition(contentType: string, metadata: Metadata): string | undefined {
  if (isInlineType(contentType)) return undefined;
  // The name as kept in metadata (cleaned, shortened to fit), as the download route sends it.
  return contentDisposition("attachment", metadata.filename ?? "");
}
