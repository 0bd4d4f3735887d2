/** The container format a stage recognised from the first bytes; `other` passes through untouched. */
export type StripFormat =
  "jpeg" | "png" | "webp" | "heic" | "heif" | "avif" | "mp4" | "mov" | "other";

/**
 * Why a stage stopped stripping before the end of the file. Everything before that point was
 * handled; the rest passed through byte for byte.
 * - `malformed`: the structure made no sense from here on;
 * - `truncated`: the input ended inside a structure;
 * - `limit`: a structure that must be held to be stripped was larger than the stage's bound;
 * - `unreachable`: the metadata sits at a place that had already passed (HEIF item data before
 *   the item table that describes it, a QuickTime ilst item before the keys box naming it).
 */
export type IncompleteReason = "malformed" | "truncated" | "limit" | "unreachable";

export interface StripReport {
  format: StripFormat;
  /** What was removed or overwritten, e.g. `exif`, `exif:gps`, `xmp`, `iptc`, `comment`, `location`. */
  removed: string[];
  /** Metadata deliberately kept, e.g. `orientation`, `icc`. */
  kept: string[];
  /** False when part of the file could not be inspected; `reason` says why. */
  complete: boolean;
  reason?: IncompleteReason;
  bytesIn: number;
  bytesOut: number;
}

/** Every label a report can hold, so the summary string stays short and bounded. */
export const REMOVED_LABELS = [
  "exif",
  "exif:gps",
  "exif:makernote",
  "exif:serial",
  "xmp",
  "iptc",
  "comment",
  "app",
  "c2pa",
  "text",
  "time",
  "location",
  "device",
] as const;
export const KEPT_LABELS = ["orientation", "icc", "mpf"] as const;
export type RemovedLabel = (typeof REMOVED_LABELS)[number];
export type KeptLabel = (typeof KEPT_LABELS)[number];

/**
 * One line for object metadata, ASCII only and at most ~200 characters:
 * `jpeg removed=exif,exif:gps,xmp kept=orientation,icc` or `mp4 incomplete=truncated`.
 */
export function formatStripReport(report: StripReport): string {
  const parts: string[] = [report.format];
  if (report.removed.length > 0) parts.push(`removed=${report.removed.join(",")}`);
  if (report.kept.length > 0) parts.push(`kept=${report.kept.join(",")}`);
  if (!report.complete) parts.push(`incomplete=${report.reason ?? "malformed"}`);
  return parts.join(" ");
}

/** Collects what a parser did; labels come out in a fixed order whatever order they were seen. */
export class ReportBuilder {
  format: StripFormat = "other";
  reason: IncompleteReason | undefined;
  readonly #removed = new Set<RemovedLabel>();
  readonly #kept = new Set<KeptLabel>();

  removed(label: RemovedLabel): void {
    this.#removed.add(label);
  }

  kept(label: KeptLabel): void {
    this.#kept.add(label);
  }

  /** The first reason wins: it is where stripping stopped. */
  incomplete(reason: IncompleteReason): void {
    this.reason ??= reason;
  }

  build(bytesIn: number, bytesOut: number): StripReport {
    const report: StripReport = {
      format: this.format,
      removed: REMOVED_LABELS.filter((l) => this.#removed.has(l)),
      kept: KEPT_LABELS.filter((l) => this.#kept.has(l)),
      complete: this.reason === undefined,
      bytesIn,
      bytesOut,
    };
    if (this.reason !== undefined) report.reason = this.reason;
    return report;
  }
}
