/**
 * The safetensors format (https://huggingface.co/docs/safetensors), float32 tensors only:
 *   [u64 LE N][N bytes of UTF-8 JSON header, space-padded to a multiple of 8][data]
 * The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]}, offsets counted
 * from the first byte after the header; an optional "__metadata__" holds string → string.
 * Pure: bytes in, bytes out. Checked against the reference writer's own test vectors in
 * test/unit and against an independent Python reader in test/parity.
 */
import { fail } from '../core/errors.ts';

export interface NamedTensor {
  name: string;
  /** Row-major (C order), as safetensors assumes. */
  shape: readonly number[];
  data: Float32Array;
}

export interface Safetensors {
  /** In file order (by data offset). */
  tensors: NamedTensor[];
  metadata: Record<string, string>;
}

/** The reference reader refuses larger headers (safetensors/src/tensor.rs, MAX_HEADER_SIZE). */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
// In /u mode a well-formed surrogate pair is one code point, so this finds only lone halves,
// which JSON.stringify would escape but no UTF-8 reader (the Rust one included) can decode.
const LONE_SURROGATE = /\p{Cs}/u;

function checkText(s: string, what: string): void {
  if (LONE_SURROGATE.test(s)) fail('E_INPUT', `safetensors: ${what} ${JSON.stringify(s)} contains a lone UTF-16 surrogate (not valid UTF-8)`);
}

/**
 * Serialise like the reference writer: tensors sorted by dtype alignment then name (all F32
 * here, so by name, in UTF-8 byte order as Rust compares strings), "__metadata__" first, keys
 * of each entry in the order dtype, shape, data_offsets, compact JSON, then spaces to align the
 * data to 8 bytes so a reader can map tensors in place.
 */
export function encodeSafetensors(tensors: readonly NamedTensor[], metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '' || t.name === METADATA_KEY) fail('E_INPUT', `safetensors: tensor name ${JSON.stringify(t.name)} is reserved or empty`);
    if (seen.has(t.name)) fail('E_INPUT', `safetensors: tensor name "${t.name}" appears twice`, 'give each tensor a unique name');
    seen.add(t.name);
    checkText(t.name, 'tensor name');
    if (!(t.data instanceof Float32Array)) fail('E_INPUT', `safetensors: tensor "${t.name}" is not a Float32Array`);
    if (t.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail('E_SHAPE', `safetensors: tensor "${t.name}" has shape [${t.shape}]; dimensions must be integers ≥ 0`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) fail('E_SHAPE', `safetensors: tensor "${t.name}": shape [${t.shape}] holds ${count} values, data has ${t.data.length}`);
  }
  const metaKeys = Object.keys(metadata).sort(byUtf8);
  for (const k of metaKeys) {
    const v: unknown = metadata[k];
    if (typeof v !== 'string') fail('E_INPUT', `safetensors: metadata "${k}" must be a string, found ${typeof v} ${JSON.stringify(v)}`, 'format numbers and lists as strings (e.g. JSON)');
    checkText(k, 'metadata key');
    checkText(v, `metadata "${k}"`);
  }
  const sorted = [...tensors].sort((a, b) => byUtf8(a.name, b.name));
  const header: Record<string, unknown> = {};
  if (metaKeys.length > 0) header[METADATA_KEY] = Object.fromEntries(metaKeys.map((k) => [k, metadata[k]]));
  let offset = 0;
  for (const t of sorted) {
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const n = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + n + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + n);
  let at = 8 + n;
  // Raw bytes, not values: NaN payloads and -0 survive; like npy.ts this assumes a little-endian host.
  for (const t of sorted) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

function byUtf8(a: string, b: string): number {
  // UTF-16 order differs from UTF-8 (Rust's str order) only above U+FFFF vs U+E000–U+FFFF.
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(ea.length, eb.length); i++) if (ea[i] !== eb[i]) return ea[i] - eb[i];
  return ea.length - eb.length;
}

const DTYPE_SIZES: Readonly<Record<string, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, I64: 8, U64: 8, F64: 8,
};

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Read a file, checking it as the reference reader does: header bounds, offsets contiguous from 0 to the end. */
export function decodeSafetensors(bytes: Uint8Array, what = 'safetensors'): Safetensors {
  if (bytes.length < 8) fail('E_STORE', `${what}: ${bytes.length} bytes is too short for a safetensors file`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER_BYTES)) fail('E_STORE', `${what}: header length ${n64} exceeds ${MAX_HEADER_BYTES} bytes`);
  const n = Number(n64);
  if (8 + n > bytes.length) fail('E_STORE', `${what}: header length ${n} runs past the end of the file (${bytes.length} bytes)`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail('E_STORE', `${what}: header is not valid UTF-8`);
  }
  if (!text.startsWith('{')) fail('E_STORE', `${what}: header does not start with "{"`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail('E_STORE', `${what}: header is not JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('E_STORE', `${what}: header is not a JSON object`);
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) fail('E_STORE', `${what}: "__metadata__" is not an object`);
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail('E_STORE', `${what}: metadata "${k}" is ${JSON.stringify(v)}, not a string`);
        metadata[k] = v;
      }
      continue;
    }
    entries.push(parseEntry(name, info, what));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataLength = bytes.length - 8 - n;
  let expected = 0;
  for (const e of entries) {
    if (e.begin !== expected || e.end < e.begin) fail('E_STORE', `${what}: tensor "${e.name}" has data_offsets [${e.begin}, ${e.end}], expected to start at ${expected}`);
    const count = e.shape.reduce((a, b) => a * b, 1);
    if ((e.end - e.begin) !== count * DTYPE_SIZES[e.dtype]) fail('E_STORE', `${what}: tensor "${e.name}" (${e.dtype} [${e.shape}]) needs ${count * DTYPE_SIZES[e.dtype]} bytes, data_offsets give ${e.end - e.begin}`);
    expected = e.end;
  }
  if (expected !== dataLength) fail('E_STORE', `${what}: tensors cover ${expected} data bytes, the file holds ${dataLength}`);
  const start = 8 + n;
  const tensors = entries.map((e): NamedTensor => {
    if (e.dtype !== 'F32') fail('E_STORE', `${what}: tensor "${e.name}" has dtype ${e.dtype}; only F32 is supported`);
    // A copy at offset 0, so the Float32Array is aligned whatever the input buffer's offset.
    const body = Uint8Array.prototype.slice.call(bytes, start + e.begin, start + e.end);
    return { name: e.name, shape: e.shape, data: new Float32Array(body.buffer, 0, (e.end - e.begin) / 4) };
  });
  return { tensors, metadata };
}

function parseEntry(name: string, info: unknown, what: string): Entry {
  const bad = (why: string): never => fail('E_STORE', `${what}: tensor "${name}": ${why}`);
  if (info === null || typeof info !== 'object' || Array.isArray(info)) return bad('entry is not an object');
  const { dtype, shape, data_offsets: offs } = info as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZES)) return bad(`unknown dtype ${JSON.stringify(dtype)}`);
  const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!Array.isArray(shape) || !shape.every(isIndex)) return bad(`shape ${JSON.stringify(shape)} is not a list of integers ≥ 0`);
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every(isIndex)) return bad(`data_offsets ${JSON.stringify(offs)} is not [begin, end]`);
  return { name, dtype, shape, begin: offs[0], end: offs[1] };
}
