/**
 * Key order as S3, GCS and Azure list it: by UTF-8 bytes. JavaScript's default sort uses
 * UTF-16 code units, which disagrees for characters outside the Basic Multilingual Plane,
 * so adapters that sort for themselves (memory, local folder) use this.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
