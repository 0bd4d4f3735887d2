import type { Request } from "express";
import type { DownloadConfig } from "../config/load.ts";
import { HttpError } from "../http/errors.ts";

/** Where downloads are served, below the public base URL. */
export const DOWNLOAD_PREFIX = "/files/";

const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * The URL recipients fetch the object from: under PUBLIC_OBJECT_BASE_URL in
 * DOWNLOAD_MODE=direct (the gateway is then not on the download path), else under
 * PUBLIC_BASE_URL. Without PUBLIC_BASE_URL it is the origin the
 * uploader reached us at (the Host header, or X-Forwarded-Host/-Proto when TRUST_PROXY
 * says the proxy is ours), which is right for a gateway reached directly.
 */
export function downloadUrl(
  req: Request,
  options: Pick<DownloadConfig, "publicBaseUrl" | "publicObjectBaseUrl">,
  key: string,
): string {
  if (options.publicObjectBaseUrl) return `${options.publicObjectBaseUrl}/${key}`;
  if (options.publicBaseUrl) return `${options.publicBaseUrl}${DOWNLOAD_PREFIX}${key}`;
  const host = req.host;
  if (!host || !HOST.test(host)) {
    throw new HttpError("BAD_REQUEST", "The Host header is missing or malformed.");
  }
  return `${req.protocol}://${host}${DOWNLOAD_PREFIX}${key}`;
}
