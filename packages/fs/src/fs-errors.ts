import type { StorageErrorCode } from "@mediagate/core";

/**
 * What each filesystem error means to a caller. Permission problems are never reported as
 * "not found", a full disk or quota is "Full" (the operator must make room), and a failing
 * disk is a temporary outage, not a bug.
 */
const CODES: Record<string, StorageErrorCode> = {
  ENOENT: "NotFound",
  ENOTDIR: "NotFound",
  EACCES: "Unauthorized",
  EPERM: "Unauthorized",
  EROFS: "Unauthorized",
  ENOSPC: "Full",
  EDQUOT: "Full",
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
