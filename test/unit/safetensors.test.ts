import { describe, expect, it } from 'vitest';
import { isStyleAtlasError } from '../../pipeline/core/errors.ts';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../../pipeline/store/safetensors.ts';

const f32 = (...v: number[]) => Float32Array.from(v);
const header = (bytes: Uint8Array) => {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { n, text: new TextDecoder().decode(bytes.subarray(8, 8 + n)) };
};
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return isStyleAtlasError(e) ? `${e.code}: ${e.message}` : `uncoded: ${String(e)}`;
  }
  return 'no error';
};

// Byte vectors from the reference implementation's tests (huggingface/safetensors,
// safetensors/src/tensor.rs: test_serialization, test_empty, test_serialization_forced_alignement).
describe('byte-identical to the reference writer', () => {
  const values = f32(0, 1, 2, 3, 4, 5);
  const data = [0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64];
  const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

  it('one F32 tensor whose header is already 8-aligned (64 bytes, no padding)', () => {
    const json = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    const expected = [64, 0, 0, 0, 0, 0, 0, 0, ...ascii(json), ...data];
    expect(Array.from(encodeSafetensors([{ name: 'attn.0', shape: [1, 2, 3], data: values }]))).toEqual(expected);
  });

  it('a header padded with spaces to 72 bytes', () => {
    const json = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
    const expected = [72, 0, 0, 0, 0, 0, 0, 0, ...ascii(json), ...ascii('       '), ...data];
    expect(Array.from(encodeSafetensors([{ name: 'attn0', shape: [1, 1, 2, 3], data: values }]))).toEqual(expected);
  });

  it('no tensors, without and with metadata', () => {
    expect(Array.from(encodeSafetensors([]))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, ...ascii('{}      ')]);
    const withMeta = encodeSafetensors([], { framework: 'pt' });
    expect(Array.from(withMeta)).toEqual([40, 0, 0, 0, 0, 0, 0, 0, ...ascii('{"__metadata__":{"framework":"pt"}}     ')]);
  });
});

describe('layout', () => {
  const tensors: NamedTensor[] = [
    { name: 'b8.conv1', shape: [3], data: f32(1, 2, 3) },
    { name: 'b16.conv0', shape: [2, 2], data: f32(-1, 0.5, 1e-30, 7) },
    { name: 'b4.conv1', shape: [1], data: f32(42) },
  ];
  const bytes = encodeSafetensors(tensors, { zeta: 'last', alpha: 'first' });
  const { n, text } = header(bytes);

  it('sorts tensors by name and puts __metadata__ first, offsets counted after the header', () => {
    expect(n % 8).toBe(0);
    const h = JSON.parse(text);
    expect(Object.keys(h)).toEqual(['__metadata__', 'b16.conv0', 'b4.conv1', 'b8.conv1']);
    expect(h['b16.conv0'].data_offsets).toEqual([0, 16]);
    expect(h['b4.conv1'].data_offsets).toEqual([16, 20]);
    expect(h['b8.conv1'].data_offsets).toEqual([20, 32]);
    expect(bytes.length).toBe(8 + n + 32);
    // the byte right after the header is the first value of the first tensor (b16.conv0 = −1)
    expect(new DataView(bytes.buffer).getFloat32(8 + n, true)).toBe(-1);
  });

  it('round-trips values bit for bit (NaN payload, −0, subnormals, Inf) with shapes and metadata', () => {
    const odd = new Float32Array(5);
    new Uint32Array(odd.buffer).set([0x7fc01234, 0x80000000, 0x00000001, 0x7f800000, 0xff800000]);
    const back = decodeSafetensors(encodeSafetensors([...tensors, { name: 'odd', shape: [5], data: odd }], { note: 'ü ✓ "q"' }));
    expect(back.metadata).toEqual({ note: 'ü ✓ "q"' });
    expect(back.tensors.map((t) => [t.name, t.shape])).toEqual([['b16.conv0', [2, 2]], ['b4.conv1', [1]], ['b8.conv1', [3]], ['odd', [5]]]);
    expect(Array.from(new Uint32Array(back.tensors[3].data.buffer))).toEqual([0x7fc01234, 0x80000000, 0x00000001, 0x7f800000, 0xff800000]);
    expect(Array.from(back.tensors[0].data)).toEqual(Array.from(tensors[1].data));
  });

  it('reads a tensor from a view at an odd offset of a larger buffer', () => {
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    expect(Array.from(decodeSafetensors(big.subarray(3)).tensors[2].data)).toEqual([1, 2, 3]);
  });
});

describe('refusals', () => {
  const t = (name: string, data = f32(1)): NamedTensor => ({ name, shape: [data.length], data });

  it('writer: duplicate names, reserved names, bad shapes, non-string metadata', () => {
    expect(code(() => encodeSafetensors([t('a'), t('a')]))).toMatch(/^E_INPUT: .*"a" appears twice/);
    expect(code(() => encodeSafetensors([t('__metadata__')]))).toMatch(/^E_INPUT: .*reserved/);
    expect(code(() => encodeSafetensors([{ name: 'a', shape: [2, 2], data: f32(1, 2, 3) }]))).toMatch(/^E_SHAPE: .*\[2,2\] holds 4 values, data has 3/);
    const meta = { beta: 0.15 } as unknown as Record<string, string>;
    expect(code(() => encodeSafetensors([t('a')], meta))).toMatch(/^E_INPUT: .*metadata "beta" must be a string, found number 0.15/);
    expect(code(() => encodeSafetensors([t('\ud800')]))).toMatch(/^E_INPUT: .*lone UTF-16 surrogate/);
  });

  it('reader: truncated, oversized header, gaps, wrong sizes, trailing bytes, non-F32', () => {
    const good = encodeSafetensors([t('a', f32(1, 2)), t('b', f32(3))]);
    expect(code(() => decodeSafetensors(good.subarray(0, 5)))).toMatch(/^E_STORE: .*too short/);
    expect(code(() => decodeSafetensors(good.subarray(0, good.length - 4)))).toMatch(/^E_STORE: .*cover 12 data bytes, the file holds 8/);
    const extra = new Uint8Array(good.length + 4);
    extra.set(good);
    expect(code(() => decodeSafetensors(extra))).toMatch(/^E_STORE: .*cover 12 data bytes, the file holds 16/);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 200_000_000n, true);
    expect(code(() => decodeSafetensors(huge))).toMatch(/^E_STORE: .*exceeds/);
    const make = (json: string, dataBytes: number) => {
      const h = new TextEncoder().encode(json);
      const out = new Uint8Array(8 + h.length + dataBytes);
      new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
      out.set(h, 8);
      return out;
    };
    expect(code(() => decodeSafetensors(make('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8)))).toMatch(/^E_STORE: .*"a" has data_offsets \[4, 8\], expected to start at 0/);
    expect(code(() => decodeSafetensors(make('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8)))).toMatch(/^E_STORE: .*needs 12 bytes/);
    expect(code(() => decodeSafetensors(make('{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', 8)))).toMatch(/^E_STORE: .*dtype I64; only F32/);
    expect(code(() => decodeSafetensors(make('{"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,8]}}', 8)))).toMatch(/^E_STORE: .*unknown dtype "Q7"/);
    expect(code(() => decodeSafetensors(make('{"__metadata__":{"k":1}}', 0)))).toMatch(/^E_STORE: .*metadata "k" is 1, not a string/);
    expect(code(() => decodeSafetensors(make('[1]', 0)))).toMatch(/^E_STORE: .*does not start with "\{"/);
  });
});
