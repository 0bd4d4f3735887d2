import { createStripStream, formatStripReport } from "@mediagate/strip";
import { sourceCode } from "../custody/sources.ts";
import type { UploadHook } from "./store.ts";

const MEDIA = /^(image|video)\//;

/** STRIP_METADATA: strip everything, nothing, or the uploads of these mesibo sources. */
export type StripPolicy = { sources: "all" } | { sources: ReadonlySet<number> };

/**
 * Location and device metadata removed from photos and videos while they stream, before
 * the hash (the recorded sha256 and size are the stored bytes'). What was removed is kept
 * in the object's metadata (`stripped`); files that are not images or videos, or that the
 * client encrypted, pass through untouched.
 */
export function stripHook(policy: StripPolicy): UploadHook {
  return {
    transform(upload) {
      // Only what the bytes showed to be a photo or a video has anything to strip.
      if (!MEDIA.test(upload.contentType)) return undefined;
      if (policy.sources !== "all" && !policy.sources.has(sourceCode(upload.fields.source))) {
        return undefined;
      }
      const stage = createStripStream();
      stage.once("end", () => {
        const { report } = stage;
        if (report.removed.length > 0 || !report.complete) {
          upload.finalMetadata.stripped = formatStripReport(report);
        }
      });
      return stage;
    },
  };
}
