/**
 * The Multi-Picture Format (CIPA DC-007) APP2 segment points at the images that follow the first
 * one's EOI (depth maps, gain maps, second frames) by offsets counted from the MPF segment. When
 * segments after it are removed those images move, so the offsets are moved with them, and the
 * first image's recorded size shrinks by everything removed from it.
 */
const MP_ENTRY = 0xb002;
/** FF E2, length, "MPF\0": the TIFF header that offsets count from starts here. */
const TIFF_AT = 8;

/**
 * Patches a copy of the segment in place. `shiftAfter` bytes were removed between this segment
 * and the end of the first image; `shrinkFirst` bytes were removed from the first image as a
 * whole (negative values mean bytes were added). A segment it cannot read is left as it is.
 */
export function patchMpf(segment: Buffer, shiftAfter: number, shrinkFirst: number): void {
  const tiff = segment.subarray(TIFF_AT);
  if (tiff.length < 8) return;
  const order = tiff.toString("latin1", 0, 2);
  if (order !== "II" && order !== "MM") return;
  const le = order === "II";
  const u16 = (at: number) => (le ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (le ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  const w32 = (at: number, v: number) =>
    le ? tiff.writeUInt32LE(v, at) : tiff.writeUInt32BE(v, at);
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) return;
    if (u16(entry) !== MP_ENTRY || u16(entry + 2) !== 7) continue;
    const images = Math.floor(u32(entry + 4) / 16);
    const table = u32(entry + 8);
    if (table + images * 16 > tiff.length) return;
    for (let n = 0; n < images; n++) {
      const at = table + n * 16;
      const size = u32(at + 4);
      const offset = u32(at + 8);
      if (n === 0) {
        if (size > shrinkFirst && size - shrinkFirst <= 0xffffffff) w32(at + 4, size - shrinkFirst);
      } else if (offset !== 0 && offset > shiftAfter && offset - shiftAfter <= 0xffffffff) {
        w32(at + 8, offset - shiftAfter);
      }
    }
    return;
  }
}
