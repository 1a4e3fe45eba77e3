// torch.save files (zip and legacy) written by PyTorch itself read back exactly.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StyleAtlasError } from '../../pipeline/core/errors.ts';
import { PyGlobal, Tensor, flattenTensors, isTuple, readCheckpoint } from '../../pipeline/models/checkpoint/index.ts';
import type { PyDict } from '../../pipeline/models/checkpoint/index.ts';
import { makeTempDir, writeFixtures } from '../fixtures/checkpoint/fixtures.ts';

interface ExpectedTensor {
  dtype: string;
  shape: number[];
  values: (number | string)[];
}

const tmp = makeTempDir('torch');
let expected: Record<string, ExpectedTensor>;

beforeAll(() => {
  writeFixtures('state_dict.py', [tmp.dir]);
  expected = JSON.parse(readFileSync(join(tmp.dir, 'expected.json'), 'utf8')).tensors;
});
afterAll(() => tmp.remove());

const load = (name: string) => readCheckpoint(readFileSync(join(tmp.dir, name)));

/** Python's values as JSON: int64 as decimal strings, and 'nan', 'inf', '-inf', '-0' for floats. */
function decode(v: number | string, dtype: string): number | bigint {
  if (dtype === 'int64') return BigInt(v);
  if (typeof v === 'number') return v;
  return { nan: NaN, inf: Infinity, '-inf': -Infinity, '-0': -0 }[v] as number;
}

function expectTensor(name: string, t: Tensor | undefined, want: ExpectedTensor): void {
  expect(t, name).toBeInstanceOf(Tensor);
  expect(t!.dtype, name).toBe(want.dtype);
  expect(t!.shape, name).toEqual(want.shape);
  const got = Array.from(t!.data as ArrayLike<number | bigint>);
  const values = want.values.map((v) => decode(v, want.dtype));
  expect(got.length, name).toBe(values.length);
  // Object.is: exact bits, NaN equal to NaN, -0 distinct from 0.
  got.forEach((g, i) => expect(Object.is(g, values[i]), `${name}[${i}]: ${g} vs ${values[i]}`).toBe(true));
}

const FILES = [
  ['state-zip.pt', 'torch-zip'],
  ['state-zip-p4.pt', 'torch-zip'],
  ['state-deflated.pt', 'torch-zip'],
  ['state-legacy.pt', 'torch-legacy'],
  ['state-legacy-p5.pt', 'torch-legacy'],
] as const;

describe.each(FILES)('%s', (file, format) => {
  it(`is read as ${format} with every tensor exact`, () => {
    const checkpoint = load(file);
    expect(checkpoint.format).toBe(format);
    const tensors = flattenTensors(checkpoint.value, checkpoint.size);
    expect([...tensors.keys()]).toEqual(Object.keys(expected));
    for (const [name, want] of Object.entries(expected)) expectTensor(name, tensors.get(name), want);
  });

  it('keeps the typed-array kind of each dtype and copies views out densely', () => {
    const checkpoint = load(file);
    const t = flattenTensors(checkpoint.value, checkpoint.size);
    expect(t.get('float16')!.data).toBeInstanceOf(Float32Array);
    expect(t.get('bfloat16')!.data).toBeInstanceOf(Float32Array);
    expect(t.get('int64')!.data).toBeInstanceOf(BigInt64Array);
    expect(t.get('bool')!.data).toBeInstanceOf(Uint8Array);
    expect(t.get('scalar')!.shape).toEqual([]);
    expect(t.get('empty')!.shape).toEqual([0, 3]);
    // base = arange(24).reshape(4, 6) / 7; strided = base[1:, ::2]
    const strided = t.get('strided')!;
    expect(strided.shape).toEqual([3, 3]);
    expect(strided.data[0]).toBe(Math.fround(6 / 7));
    expect(strided.data[1]).toBe(Math.fround(8 / 7));
    expect(strided.data.length).toBe(9);
  });

  it('decodes the plain values next to the tensors', () => {
    const meta = (load(file).value as PyDict).get('meta') as PyDict;
    expect(meta.get('name')).toBe('tiny');
    expect(meta.get('ints')).toEqual([0, -5, 300, 70000, -(2 ** 40), 2n ** 70n]);
    expect(meta.get('float')).toBe(0.1);
    expect(meta.get('none')).toBeNull();
    expect(isTuple(meta.get('flags'))).toBe(true);
    expect(meta.get('flags')).toEqual([true, false]);
    expect(meta.get('bytes')).toEqual(new Uint8Array([0, 255, 97, 98, 99]));
    expect(meta.get('set')).toEqual(new Set([1, 2]));
    expect(meta.get('unicode')).toBe('h\u00e9llo \u2713');
    expect(meta.get('dtype')).toEqual(new PyGlobal('torch', 'float16'));
    expect(meta.get('int_keys')).toEqual(new Map([[4, 512], [8, 256]]));
  });
});
