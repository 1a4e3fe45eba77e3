/**
 * Reading model checkpoints in `.safetensors` (Hugging Face's format: an 8-byte little-endian header
 * length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}`,
 * then the raw little-endian tensor bytes), every dtype a checkpoint may hold. ./safetensors.ts is
 * the direction-file codec and reads F32 only; Hugging Face checkpoints also carry F16/BF16 weights
 * and I64 buffers (`position_ids`), which this reader decodes (halves widened exactly to float32).
 * Offsets are checked as the reference reader checks them (contiguous from 0 to the end of the
 * file), so a damaged file is an E_STORE error, never an out-of-bounds read.
 */
import { fail } from '../core/errors.ts';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Floats come back as Float32Array (F16/BF16 widened exactly, F64 as Float64Array), integers as their own arrays. */
export interface SafeTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: Float64Array | Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
}

export interface Safetensors {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

const SIZE: Readonly<Record<SafetensorsDType, number>> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
/** The format caps headers at 100 MB; real ones are a few hundred kB. */
const MAX_HEADER = 100_000_000;

/** Whether the bytes start like a safetensors file (a plausible header length, then `{`). */
export function isSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(Math.min(MAX_HEADER, bytes.length - 8)) && bytes[8] === 0x7b;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function decode(raw: Uint8Array, dtype: SafetensorsDType, numel: number): SafeTensor['data'] {
  // A copy at offset 0, so typed views are aligned whatever the header length was.
  const buf = raw.slice().buffer;
  switch (dtype) {
    case 'F64': return new Float64Array(buf, 0, numel);
    case 'F32': return new Float32Array(buf, 0, numel);
    case 'F16': {
      const words = new Uint16Array(buf, 0, numel);
      const out = new Float32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = halfToFloat(words[i]);
      return out;
    }
    case 'BF16': {
      const words = new Uint16Array(buf, 0, numel);
      const bits = new Uint32Array(numel);
      for (let i = 0; i < numel; i++) bits[i] = words[i] << 16;
      return new Float32Array(bits.buffer);
    }
    case 'I64': return new BigInt64Array(buf, 0, numel);
    case 'I32': return new Int32Array(buf, 0, numel);
    case 'I16': return new Int16Array(buf, 0, numel);
    case 'I8': return new Int8Array(buf, 0, numel);
    case 'U8':
    case 'BOOL': return new Uint8Array(buf, 0, numel);
  }
}

/** Decodes a whole file; `what` names it in errors. */
export function readSafetensors(bytes: Uint8Array, what = 'safetensors'): Safetensors {
  if (!isSafetensors(bytes)) fail('E_STORE', `${what}: not a safetensors file (no 8-byte header length followed by a JSON header)`);
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail('E_STORE', `${what}: the header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('E_STORE', `${what}: the header is not a JSON object`);
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = (entry ?? {}) as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = e?.dtype as SafetensorsDType;
    if (typeof dtype !== 'string' || !Object.hasOwn(SIZE, dtype)) fail('E_STORE', `${what}: tensor ${name} has unsupported dtype ${JSON.stringify(e?.dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail('E_STORE', `${what}: tensor ${name} has a bad shape ${JSON.stringify(shape)}`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o))) {
      fail('E_STORE', `${what}: tensor ${name} has bad data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    if (begin < 0 || end < begin || end > dataLen) fail('E_STORE', `${what}: tensor ${name} lies outside the file (bytes ${begin}–${end} of ${dataLen})`);
    if (end - begin !== numel * SIZE[dtype]) {
      fail('E_STORE', `${what}: tensor ${name} is ${dtype}[${(shape as number[]).join(', ')}] (${numel * SIZE[dtype]} bytes) but spans ${end - begin} bytes`);
    }
    spans.push([begin, end, name]);
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let expected = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== expected) fail('E_STORE', `${what}: tensor ${name} starts at data byte ${begin}, expected ${expected} (tensors must tile the data)`);
    expected = end;
  }
  if (expected !== dataLen) fail('E_STORE', `${what}: tensors cover ${expected} data bytes, the file holds ${dataLen}`);
  for (const [begin, end, name] of spans) {
    const e = (header as Record<string, { dtype: SafetensorsDType; shape: number[] }>)[name];
    tensors.set(name, { dtype: e.dtype, shape: [...e.shape], data: decode(bytes.subarray(dataStart + begin, dataStart + end), e.dtype, (end - begin) / SIZE[e.dtype]) });
  }
  return { tensors, metadata };
}
