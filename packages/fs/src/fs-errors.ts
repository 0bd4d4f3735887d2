import type { StorageErrorCode } from "@mediagate/core";

/**
 * What each filesystem error means to a caller. Permission problems are never reported as
 * "not found", and a full or failing disk is a temporary outage, not a bug.
 */
const CODES: Record<string, StorageErrorCode> = {
  ENOENT: "NotFound",
  ENOTDIR: "NotFound",
  EACCES: "Unauthorized",
  EPERM: "Unauthorized",
  EROFS: "Unauthorized",
  ENOSPC: "Unavailable",
  EDQUOT: "Unavailable",
  EIO: "Unavailable",
  EMFILE: "Unavailable",
  ENFILE: "Unavailable",
  EBUSY: "Unavailable",
  EAGAIN: "Unavailable",
  ESTALE: "Unavailable",
  ENAMETOOLONG: "Unsupported",
};

export function classifyFsError(err: unknown): StorageErrorCode | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? CODES[code] : undefined;
}
