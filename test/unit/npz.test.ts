import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { isStyleAtlasError } from '../../pipeline/core/errors.ts';
import { decodeNpy } from '../../pipeline/store/npy.ts';
import { decodeNpyText, decodeNpz, encodeNpyText, encodeNpz, type NpzMember } from '../../pipeline/store/npz.ts';

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return isStyleAtlasError(e) ? `${e.code}: ${e.message}` : `uncoded: ${String(e)}`;
  }
  return 'no error';
};

const members: [string, NpzMember][] = [
  ['b8.conv1', { dtype: 'float32', shape: [4], data: Float32Array.from([1.5, -0, 3e-39, -7]) }],
  ['b4.conv1', { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
  ['count', { dtype: 'int64', shape: [2], data: BigInt64Array.from([-1n, 2n ** 40n]) }],
  ['__metadata__', { dtype: 'unicode', text: '{"neutral":"face","target":"smiling face ✓ 𝄞"}' }],
];

describe('npz container', () => {
  it('is a zip of <name>.npy members, in order, stored uncompressed like numpy.savez', () => {
    const bytes = encodeNpz(members);
    const files = unzipSync(bytes);
    expect(Object.keys(files)).toEqual(['b8.conv1.npy', 'b4.conv1.npy', 'count.npy', '__metadata__.npy']);
    // Stored: the raw float bytes of the first member appear verbatim in the archive.
    const raw = new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer);
    expect(Buffer.from(bytes).includes(Buffer.from(raw))).toBe(true);
    expect(decodeNpy(files['b4.conv1.npy']).shape).toEqual([2, 3]);
  });

  it('compress: true deflates (smaller for repetitive data) and reads back the same', () => {
    const zeros: [string, NpzMember][] = [['z', { dtype: 'float32', shape: [4096], data: new Float32Array(4096) }]];
    const stored = encodeNpz(zeros);
    const deflated = encodeNpz(zeros, { compress: true });
    expect(deflated.length).toBeLessThan(stored.length / 10);
    const back = decodeNpz(deflated).get('z');
    expect(back?.dtype === 'float32' && back.data.length).toBe(4096);
  });

  it('round-trips every member bit for bit, with shapes and text', () => {
    const back = decodeNpz(encodeNpz(members));
    expect([...back.keys()]).toEqual(members.map(([n]) => n));
    const a = back.get('b8.conv1');
    expect(a?.dtype).toBe('float32');
    if (a?.dtype !== 'float32') return;
    expect(Array.from(new Uint32Array(a.data.buffer))).toEqual(Array.from(new Uint32Array(Float32Array.from([1.5, -0, 3e-39, -7]).buffer)));
    const c = back.get('count');
    expect(c?.dtype === 'int64' && Array.from(c.data)).toEqual([-1n, 2n ** 40n]);
    expect(back.get('__metadata__')).toEqual(members[3][1]);
  });

  it('carries float64 arrays (<f8) bit for bit, as the Adam moments of a checkpoint need', () => {
    const values = Float64Array.of(0.1, -0, 5e-324, 1 / 3, -1e300);
    const bytes = encodeNpz([['m', { dtype: 'float64', shape: [5], data: values }]]);
    const npy = unzipSync(bytes)['m.npy'];
    expect(new TextDecoder().decode(npy.subarray(10, 74))).toMatch(/^\{'descr': '<f8', 'fortran_order': False, 'shape': \(5,\), \}/);
    const back = decodeNpz(bytes).get('m');
    expect(back?.dtype).toBe('float64');
    expect(back?.dtype === 'float64' && Array.from(new BigUint64Array(back.data.buffer))).toEqual(Array.from(new BigUint64Array(values.buffer)));
  });

  it('gives equal bytes for equal inputs (fixed timestamps)', () => {
    expect(Buffer.from(encodeNpz(members)).equals(Buffer.from(encodeNpz(members)))).toBe(true);
  });

  it('refuses duplicate, empty and path-like names, and archives that are not npz', () => {
    const m = members[0][1];
    expect(code(() => encodeNpz([['a', m], ['a', m]]))).toMatch(/^E_INPUT: .*"a" appears twice/);
    expect(code(() => encodeNpz([['', m]]))).toMatch(/^E_INPUT: /);
    expect(code(() => encodeNpz([['../x', m]]))).toMatch(/^E_INPUT: .*no \/ or \\/);
    expect(code(() => decodeNpz(Uint8Array.from([1, 2, 3, 4])))).toMatch(/^E_STORE: .*not a readable zip/);
  });
});

describe('0-d unicode .npy', () => {
  it('has numpy’s header layout: <U{code points}, shape (), 64-byte aligned, UTF-32LE data', () => {
    const bytes = encodeNpyText('a𝄞');
    const hlen = new DataView(bytes.buffer).getUint16(8, true);
    expect((10 + hlen) % 64).toBe(0);
    const header = new TextDecoder().decode(bytes.subarray(10, 10 + hlen));
    expect(header).toMatch(/^\{'descr': '<U2', 'fortran_order': False, 'shape': \(\), \} +\n$/);
    expect(Array.from(bytes.subarray(10 + hlen))).toEqual([0x61, 0, 0, 0, 0x1e, 0xd1, 0x01, 0]);
    expect(decodeNpyText(bytes).text).toBe('a𝄞');
  });

  it('the empty string has width 1, as numpy gives it', () => {
    const bytes = encodeNpyText('');
    expect(new TextDecoder().decode(bytes.subarray(10, 40))).toContain("'<U1'");
    expect(decodeNpyText(bytes).text).toBe('');
  });

  it('refuses what numpy could not give back', () => {
    expect(code(() => encodeNpyText('x\u0000'))).toMatch(/^E_INPUT: .*NUL/);
    expect(code(() => encodeNpyText('\udc00'))).toMatch(/^E_INPUT: .*surrogate/);
  });
});
