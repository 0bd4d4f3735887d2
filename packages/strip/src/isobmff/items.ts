/**
 * HEIF/AVIF item tables (ISO/IEC 14496-12 §8.11, ISO/IEC 23008-12): `iinf` says which items are
 * Exif or XMP, `iloc` says where their bytes are. Both parsers are bounds-checked and answer
 * undefined for a table they cannot read; they never throw on input.
 */
export type ItemKind = "exif" | "xmp";

export interface Extent {
  offset: number;
  length: number;
}

export interface ItemLocation {
  id: number;
  /** 0: file offset, 1: offset into this meta's idat, 2: another item (ignored). */
  method: number;
  extents: Extent[];
}

class Short extends Error {}

class Cursor {
  at = 0;
  readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  u8(): number {
    return this.uint(1);
  }
  u16(): number {
    return this.uint(2);
  }
  u32(): number {
    return this.uint(4);
  }
  /** An unsigned integer of 0 to 4 or 8 bytes. */
  uint(bytes: number): number {
    if (this.at + bytes > this.buf.length) throw new Short();
    const at = this.at;
    this.at += bytes;
    switch (bytes) {
      case 0:
        return 0;
      case 1:
        return this.buf.readUInt8(at);
      case 2:
        return this.buf.readUInt16BE(at);
      case 3:
        return this.buf.readUIntBE(at, 3);
      case 4:
        return this.buf.readUInt32BE(at);
      case 8: {
        const v = this.buf.readBigUInt64BE(at);
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Short();
        return Number(v);
      }
      default:
        throw new Short();
    }
  }
  fourcc(): string {
    if (this.at + 4 > this.buf.length) throw new Short();
    this.at += 4;
    return this.buf.toString("latin1", this.at - 4, this.at);
  }
  cstring(end: number): string {
    const stop = this.buf.indexOf(0, this.at);
    const last = stop === -1 || stop > end ? end : stop;
    const s = this.buf.toString("utf8", this.at, last);
    this.at = Math.min(last + 1, end);
    return s;
  }
}

/** Exif and XMP items from an `iinf` payload (everything after its box header). */
export function parseIinf(payload: Buffer): Map<number, ItemKind> | undefined {
  const items = new Map<number, ItemKind>();
  try {
    const c = new Cursor(payload);
    const version = c.u8();
    c.uint(3);
    const count = version === 0 ? c.u16() : c.u32();
    for (let i = 0; i < count && c.at + 8 <= payload.length; i++) {
      const start = c.at;
      const size = c.u32();
      const type = c.fourcc();
      const end = start + size;
      if (size < 8 || end > payload.length) return undefined;
      if (type === "infe") {
        const entry = infe(new Cursor(payload.subarray(c.at, end)));
        if (entry) items.set(entry.id, entry.kind);
      }
      c.at = end;
    }
    return items;
  } catch (err) {
    if (err instanceof Short) return undefined;
    throw err;
  }
}

function infe(c: Cursor): { id: number; kind: ItemKind } | undefined {
  const version = c.u8();
  c.uint(3);
  const end = c.buf.length;
  if (version < 2) {
    const id = c.u16();
    const protection = c.u16();
    c.cstring(end);
    const contentType = c.cstring(end);
    return protection === 0 && contentType === "application/rdf+xml"
      ? { id, kind: "xmp" }
      : undefined;
  }
  const id = version === 2 ? c.u16() : c.u32();
  const protection = c.u16();
  const type = c.fourcc();
  if (protection !== 0) return undefined;
  if (type === "Exif") return { id, kind: "exif" };
  if (type !== "mime") return undefined;
  c.cstring(end);
  return c.cstring(end) === "application/rdf+xml" ? { id, kind: "xmp" } : undefined;
}

/** Item locations from an `iloc` payload; only items stored in this file (data reference 0). */
export function parseIloc(payload: Buffer): ItemLocation[] | undefined {
  const out: ItemLocation[] = [];
  try {
    const c = new Cursor(payload);
    const version = c.u8();
    c.uint(3);
    const sizes = c.u8();
    const more = c.u8();
    const offsetSize = sizes >> 4;
    const lengthSize = sizes & 15;
    const baseSize = more >> 4;
    const indexSize = version === 1 || version === 2 ? more & 15 : 0;
    const count = version < 2 ? c.u16() : c.u32();
    for (let i = 0; i < count; i++) {
      const id = version < 2 ? c.u16() : c.u32();
      const method = version === 1 || version === 2 ? c.u16() & 15 : 0;
      const dataRef = c.u16();
      const base = c.uint(baseSize);
      const extentCount = c.u16();
      const extents: Extent[] = [];
      for (let e = 0; e < extentCount; e++) {
        c.uint(indexSize);
        const offset = base + c.uint(offsetSize);
        extents.push({ offset, length: c.uint(lengthSize) });
      }
      if (dataRef === 0) out.push({ id, method, extents });
    }
    return out;
  } catch (err) {
    if (err instanceof Short) return undefined;
    throw err;
  }
}
