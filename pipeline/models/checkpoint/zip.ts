/**
 * A small, strict zip reader for torch.save archives. torch writes entries uncompressed (STORED), so
 * entries are returned as views of the input without copying; DEFLATE (a re-zipped file) is inflated
 * with fflate into a buffer whose size the caller's budget has approved, and checked by CRC-32.
 * Every offset and length is checked against the file; ZIP64 records are understood.
 */
import { inflateSync } from 'fflate';
import { fail } from '../../core/errors.ts';

export interface ZipArchive {
  readonly names: readonly string[];
  has(name: string): boolean;
  /** The entry's bytes (a view of the archive for STORED entries). */
  read(name: string): Uint8Array;
}

interface Entry {
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const utf8 = new TextDecoder('utf-8');

function bad(message: string): never {
  return fail('E_CHECKPOINT', `malformed zip archive: ${message}`);
}

class View {
  constructor(readonly b: Uint8Array) {}
  check(at: number, n: number, what: string): void {
    if (at < 0 || n < 0 || at + n > this.b.length) bad(`${what} at byte ${at} runs past the end of the file (truncated?)`);
  }
  u16(at: number): number {
    this.check(at, 2, 'a field');
    return this.b[at] | (this.b[at + 1] << 8);
  }
  u32(at: number): number {
    this.check(at, 4, 'a field');
    return (this.b[at] | (this.b[at + 1] << 8) | (this.b[at + 2] << 16)) + this.b[at + 3] * 2 ** 24;
  }
  u64(at: number): number {
    const v = this.u32(at) + this.u32(at + 4) * 2 ** 32;
    if (v > Number.MAX_SAFE_INTEGER) bad(`64-bit field at byte ${at} is too large`);
    return v;
  }
}

let crcTable: Int32Array | null = null;

function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function findEndOfCentralDirectory(v: View): number {
  const len = v.b.length;
  for (let at = len - 22; at >= Math.max(0, len - 22 - 0xffff); at--) {
    if (v.u32(at) === 0x06054b50 && at + 22 + v.u16(at + 20) <= len) return at;
  }
  return bad('no end-of-central-directory record');
}

/** ZIP64 extra field: the 64-bit values of the header fields that hold 0xFFFFFFFF, in order. */
function applyZip64(v: View, extraAt: number, extraLen: number, e: Entry): void {
  let p = extraAt;
  const end = extraAt + extraLen;
  while (p + 4 <= end) {
    const id = v.u16(p);
    const size = v.u16(p + 2);
    if (p + 4 + size > end) bad('extra field runs past its header');
    if (id === 0x0001) {
      let q = p + 4;
      const next = (): number => {
        if (q + 8 > p + 4 + size) bad('short ZIP64 extra field');
        const x = v.u64(q);
        q += 8;
        return x;
      };
      if (e.size === 0xffffffff) e.size = next();
      if (e.compressedSize === 0xffffffff) e.compressedSize = next();
      if (e.localOffset === 0xffffffff) e.localOffset = next();
    }
    p += 4 + size;
  }
}

export function openZip(bytes: Uint8Array, spend: (bytes: number, what: string) => void): ZipArchive {
  const v = new View(bytes);
  const eocd = findEndOfCentralDirectory(v);
  let count = v.u16(eocd + 10);
  let cdSize = v.u32(eocd + 12);
  let cdOffset = v.u32(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || v.u32(locator) !== 0x07064b50) bad('ZIP64 end-of-central-directory locator missing');
    const z64 = v.u64(locator + 8);
    if (v.u32(z64) !== 0x06064b50) bad('ZIP64 end-of-central-directory record missing');
    count = v.u64(z64 + 32);
    cdSize = v.u64(z64 + 40);
    cdOffset = v.u64(z64 + 48);
  }
  v.check(cdOffset, cdSize, 'the central directory');
  if (count > cdSize / 46) bad(`${count} entries cannot fit in a central directory of ${cdSize} bytes`);

  const entries = new Map<string, Entry>();
  let p = cdOffset;
  const cdEnd = cdOffset + cdSize;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdEnd || v.u32(p) !== 0x02014b50) bad(`central directory entry ${i} is damaged`);
    const nameLen = v.u16(p + 28);
    const extraLen = v.u16(p + 30);
    const commentLen = v.u16(p + 32);
    if (p + 46 + nameLen + extraLen + commentLen > cdEnd) bad(`central directory entry ${i} runs past the directory`);
    const name = utf8.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    const e: Entry = {
      flags: v.u16(p + 8), method: v.u16(p + 10), crc: v.u32(p + 16),
      compressedSize: v.u32(p + 20), size: v.u32(p + 24), localOffset: v.u32(p + 42),
    };
    applyZip64(v, p + 46 + nameLen, extraLen, e);
    if (entries.has(name)) bad(`duplicate entry ${JSON.stringify(name)}`);
    entries.set(name, e);
    p += 46 + nameLen + extraLen + commentLen;
  }

  const read = (name: string): Uint8Array => {
    const e = entries.get(name);
    if (!e) return fail('E_CHECKPOINT', `the archive has no entry ${JSON.stringify(name)}`);
    if (e.flags & 1) bad(`${name} is encrypted`);
    if (v.u32(e.localOffset) !== 0x04034b50) bad(`local header of ${name} is damaged`);
    const start = e.localOffset + 30 + v.u16(e.localOffset + 26) + v.u16(e.localOffset + 28);
    v.check(start, e.compressedSize, `the data of ${name}`);
    const data = bytes.subarray(start, start + e.compressedSize);
    if (e.method === 0) {
      if (e.size !== e.compressedSize) bad(`stored entry ${name} has two different sizes`);
      return data;
    }
    if (e.method !== 8) bad(`${name} uses compression method ${e.method} (only stored and deflate are supported)`);
    spend(e.size, `inflating ${name}`);
    let out: Uint8Array;
    try {
      out = inflateSync(data, { out: new Uint8Array(e.size) });
    } catch (err) {
      return bad(`${name} does not inflate: ${(err as Error).message}`);
    }
    if (out.length !== e.size || crc32(out) !== e.crc) bad(`${name} fails its size or CRC-32 check`);
    return out;
  };

  return { names: [...entries.keys()], has: (name) => entries.has(name), read };
}
