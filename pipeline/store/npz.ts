/**
 * NumPy `.npz`: a zip archive of `<name>.npy` members, as numpy.savez writes it (stored, no
 * compression) or numpy.savez_compressed (deflate). Pure: bytes in, bytes out; zip by fflate,
 * each member by ./npy.ts. Checked against numpy.load in test/parity.
 *
 * Besides float32/int64 arrays a member may be a 0-d unicode string (`<U{n}`): exactly what
 * `np.savez(f, note="text")` writes for a Python str, so metadata can travel as JSON text that
 * `str(npz["note"])` gives back, without pickles (np.load's default allow_pickle=False reads it).
 */
import { unzipSync, zipSync, type Zippable } from 'fflate';
import { fail } from '../core/errors.ts';
import { decodeNpy, encodeNpy, type NpyArray } from './npy.ts';

/** A 0-d NumPy unicode array holding one string. */
export interface NpyText {
  dtype: 'unicode';
  text: string;
}
export type NpzMember = NpyArray | NpyText;

export interface NpzOptions {
  /** Deflate the members, as numpy.savez_compressed does. Default: stored, as numpy.savez. */
  compress?: boolean;
}

// A fixed timestamp (DOS time is local and starts in 1980) so equal inputs give equal bytes,
// which resumed builds rely on.
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);

/** Members are written in the given order; np.load lists them (`.files`) in that order. */
export function encodeNpz(members: ReadonlyArray<readonly [string, NpzMember]>, opts: NpzOptions = {}): Uint8Array {
  const files: Zippable = {};
  for (const [name, member] of members) {
    // numpy strips ".npy" to name the member; path separators would make directories, or worse on extraction.
    if (name === '' || /[/\\]/.test(name)) fail('E_INPUT', `npz: member name ${JSON.stringify(name)} must be non-empty and have no / or \\`);
    const file = `${name}.npy`;
    if (Object.hasOwn(files, file)) fail('E_INPUT', `npz: member name "${name}" appears twice`, 'give each array a unique name');
    const bytes = member.dtype === 'unicode' ? encodeNpyText(member.text) : encodeNpy(member);
    files[file] = [bytes, { level: opts.compress ? 6 : 0, mtime: FIXED_MTIME }];
  }
  return zipSync(files);
}

export function decodeNpz(bytes: Uint8Array, what = 'npz'): Map<string, NpzMember> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    return fail('E_STORE', `${what}: not a readable zip archive (${(e as Error).message})`);
  }
  const out = new Map<string, NpzMember>();
  for (const [file, data] of Object.entries(files)) {
    if (!file.endsWith('.npy')) fail('E_STORE', `${what}: member "${file}" is not an .npy file`);
    const name = file.slice(0, -4);
    const where = `${what}:${file}`;
    out.set(name, npyDescr(data, where).startsWith('<U') ? decodeNpyText(data, where) : decodeNpy(data, where));
  }
  return out;
}

/** `.npy` v1.0 header bytes with numpy's own layout: padded with spaces and '\n' to 64 bytes. */
function npyHeader(descr: string, shape: string): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // numpy/lib/format.py _wrap_header: padlen = 64 - (10 + len + 1) % 64, so 1..64 spaces.
  const pad = 64 - ((10 + dict.length + 1) % 64);
  const text = dict + ' '.repeat(pad) + '\n';
  const out = new Uint8Array(10 + text.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, text.length, true);
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  return out;
}

/** A 0-d `<U{n}` array: n UTF-32LE code units; numpy gives the empty string a width of 1. */
export function encodeNpyText(text: string): Uint8Array {
  const points = Array.from(text, (c) => c.codePointAt(0)!);
  if (points.some((p) => p >= 0xd800 && p <= 0xdfff)) fail('E_INPUT', 'npy: text contains a lone UTF-16 surrogate');
  // numpy strips trailing NULs from <U values, so a text ending in one would not come back.
  if (points.at(-1) === 0) fail('E_INPUT', 'npy: text must not end with a NUL character');
  const width = Math.max(1, points.length);
  const header = npyHeader(`<U${width}`, '()');
  const out = new Uint8Array(header.length + 4 * width);
  out.set(header, 0);
  const dv = new DataView(out.buffer);
  points.forEach((p, i) => dv.setUint32(header.length + 4 * i, p, true));
  return out;
}

function npyHeaderText(bytes: Uint8Array, what: string): { header: string; start: number } {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((m, i) => bytes[i] !== m)) fail('E_STORE', `${what}: not an .npy file`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + hlen;
  if (start > bytes.length) fail('E_STORE', `${what}: truncated header`);
  // Header text is ASCII (v1/v2) or UTF-8 (v3); either decodes as UTF-8.
  return { header: new TextDecoder().decode(bytes.subarray(major === 1 ? 10 : 12, start)), start };
}

function npyDescr(bytes: Uint8Array, what: string): string {
  const { header } = npyHeaderText(bytes, what);
  return /'descr':\s*'([^']+)'/.exec(header)?.[1] ?? fail('E_STORE', `${what}: unreadable header ${header.trim()}`);
}

export function decodeNpyText(bytes: Uint8Array, what = 'npy'): NpyText {
  const { header, start } = npyHeaderText(bytes, what);
  const width = Number(/'descr':\s*'<U(\d+)'/.exec(header)?.[1]);
  if (!Number.isInteger(width) || width < 1) fail('E_STORE', `${what}: not a little-endian unicode array: ${header.trim()}`);
  if (!/'shape':\s*\(\s*\)/.test(header)) fail('E_STORE', `${what}: only 0-d unicode arrays are supported: ${header.trim()}`);
  if (/'fortran_order':\s*True/.test(header)) fail('E_STORE', `${what}: Fortran-order arrays are not supported`);
  if (bytes.length - start !== 4 * width) fail('E_STORE', `${what}: expected ${4 * width} data bytes, found ${bytes.length - start}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + start, 4 * width);
  const points: number[] = [];
  for (let i = 0; i < width; i++) points.push(dv.getUint32(4 * i, true));
  while (points.at(-1) === 0) points.pop();
  try {
    return { dtype: 'unicode', text: String.fromCodePoint(...points) };
  } catch {
    return fail('E_STORE', `${what}: text holds a code point above U+10FFFF`);
  }
}
