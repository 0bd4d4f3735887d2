/** A tiny ISO BMFF writer for hand-made HEIF files the tools here cannot produce. */
export function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, "latin1");
  return Buffer.concat([head, body]);
}

export function fullBox(type: string, version: number, ...payload: Buffer[]): Buffer {
  const vf = Buffer.alloc(4);
  vf.writeUInt8(version, 0);
  return box(type, vf, ...payload);
}

export function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v, 0);
  return b;
}

export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v, 0);
  return b;
}

export const ftypHeic = () => box("ftyp", Buffer.from("heic\0\0\0\0mif1heic", "latin1"));

/** iinf with one infe (version 2) per item: [id, item type]. */
export function iinf(items: [number, string][]): Buffer {
  const entries = items.map(([id, type]) =>
    fullBox("infe", 2, u16(id), u16(0), Buffer.from(`${type}\0`, "latin1")),
  );
  return fullBox("iinf", 0, u16(items.length), ...entries);
}

/** iloc version 1 (4-byte offsets and lengths): [id, construction method, offset, length]. */
export function iloc(items: [number, number, number, number][]): Buffer {
  const rows = items.map(([id, method, offset, length]) =>
    Buffer.concat([u16(id), u16(method), u16(0), u16(1), u32(offset), u32(length)]),
  );
  return fullBox("iloc", 1, Buffer.from([0x44, 0x00]), u16(items.length), ...rows);
}

/** An Exif item payload: the offset to the TIFF header, "Exif\0\0", then the TIFF. */
export function exifItem(tiff: Buffer): Buffer {
  return Buffer.concat([u32(6), Buffer.from("Exif\0\0", "latin1"), tiff]);
}
