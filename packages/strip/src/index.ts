export {
  createStripStream,
  createJpegStripStream,
  createPngStripStream,
  createWebpStripStream,
  createIsobmffStripStream,
  detectFamily,
  SNIFF_BYTES,
  type Family,
} from "./dispatch.ts";
export { StripStream } from "./engine.ts";
export type { StripOptions } from "./ops.ts";
export { StripError, isStripError, STRIP_ERROR_CODES, type StripErrorCode } from "./errors.ts";
export {
  formatStripReport,
  REMOVED_LABELS,
  KEPT_LABELS,
  type StripReport,
  type StripFormat,
  type IncompleteReason,
  type RemovedLabel,
  type KeptLabel,
} from "./report.ts";
