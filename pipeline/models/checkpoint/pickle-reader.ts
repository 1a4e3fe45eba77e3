/** Bounds-checked reading of pickle opcode arguments: every length is checked against the input. */
import { fail } from '../../core/errors.ts';

export const utf8 = new TextDecoder('utf-8');
export const latin1 = new TextDecoder('latin1');

export function bad(at: number, message: string): never {
  return fail('E_CHECKPOINT', `malformed pickle at byte ${at}: ${message}`);
}

export class Reader {
  pos: number;
  /** Where the current opcode starts: errors point there. */
  op = 0;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }
  need(n: number, what: string): void {
    if (n > this.bytes.length - this.pos) {
      bad(this.op, `${what} needs ${n} bytes, only ${this.bytes.length - this.pos} left (truncated file?)`);
    }
  }
  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u8(): number {
    this.need(1, 'an opcode argument');
    return this.bytes[this.pos++];
  }
  uint(n: 2 | 4 | 8): number {
    const b = this.take(n, 'a length');
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + b[i];
    if (v > Number.MAX_SAFE_INTEGER) bad(this.op, 'length beyond 2^53');
    return v;
  }
  i32(): number {
    const b = this.take(4, 'an int32');
    return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24);
  }
  f64be(): number {
    const b = this.take(8, 'a float');
    return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false);
  }
  line(): string {
    // Search a bounded window, so a file without newlines costs one short scan per opcode.
    const window = this.bytes.subarray(this.pos, this.pos + 513);
    const len = window.indexOf(0x0a);
    if (len < 0) bad(this.op, 'unterminated text argument');
    const s = latin1.decode(window.subarray(0, len));
    this.pos += len + 1;
    return s;
  }
}

/** Little-endian two's-complement integer (LONG1/LONG4): a number when safe, else a bigint. */
export function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let hex = '';
  for (let i = b.length - 1; i >= 0; i--) hex += b[i].toString(16).padStart(2, '0');
  let v = BigInt('0x' + hex);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

