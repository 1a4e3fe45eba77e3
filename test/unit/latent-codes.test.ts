// Latent codes as inversion tools save them (e4e/pSp/ReStyle latents.pt, NumPy .npy), written by
// PyTorch and NumPy themselves, read back with Python's values.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asWs, readCodesFile, readLatentCodes } from '../../pipeline/models/latent-codes.ts';
import { makeTempDir, writeFixtures } from '../fixtures/checkpoint/fixtures.ts';
import { thrownBy } from '../helpers/errors.ts';

const tmp = makeTempDir('latents');
let want: Record<string, number[]>;
const at = (f: string) => join(tmp.dir, f);

beforeAll(() => {
  writeFixtures('latents.py', [tmp.dir]);
  writeFixtures('malicious.py', [tmp.dir, at('payload-ran'), at('control-ran')]);
  want = JSON.parse(readFileSync(at('latents-expected.json'), 'utf8'));
});
afterAll(() => tmp.remove());

describe('readCodesFile', () => {
  it.each([
    ['e4e.pt', 'e4e', 'torch'],
    ['half.pt', 'half', 'torch'],
    ['double.pt', 'double', 'torch'],
    ['codes.npy', 'e4e', 'npy'],
  ])('%s: [2, 4, 3] with the values Python reads', (file, key, format) => {
    const c = readCodesFile(at(file));
    expect(c.format).toBe(format);
    expect(c.shape).toEqual([2, 4, 3]);
    expect(c.rowNames).toBeNull();
    expect(Array.from(c.data)).toEqual(want[key].map(Math.fround));
  });

  it('stacks a dict of per-image codes in its order and names the rows', () => {
    const c = readCodesFile(at('dict.pt'));
    expect(c.shape).toEqual([2, 4, 3]);
    expect(c.rowNames).toEqual(['b.jpg', 'a.jpg']);
    expect(Array.from(c.data)).toEqual(want.dict.map(Math.fround));
    expect(readCodesFile(at('multi.pt')).rowNames).toEqual(['x.png[0]', 'x.png[1]']);
  });

  it.each([
    ['nan.pt', 'E_NUMERIC', /the value at \[1, 2, 0\] is NaN/],
    ['int.pt', 'E_INPUT', /int64 tensor; latent codes are floating point/],
    ['mixed.pt', 'E_SHAPE', /rows of \[2, 3\], earlier entries \[4, 3\]/],
    ['list.pt', 'E_INPUT', /holds list\[2\]; latent codes are a tensor or a dict of tensors/],
    ['missing.pt', 'E_MISSING', /does not exist/],
    ['system-zip.pt', 'E_CHECKPOINT', /refusing global posix\.system/],
  ])('refuses %s with %s', (file, code, pattern) => {
    const e = thrownBy(() => readCodesFile(at(file)));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(pattern);
  });
});

describe('asWs', () => {
  it('takes W+ codes as they are and gives w codes to every layer', () => {
    expect(readLatentCodes(at('e4e.pt'), 4, 3).ws).toEqual(readCodesFile(at('e4e.pt')).data);
    const w = asWs(readCodesFile(at('w.npy')), 4, 3);
    expect(w.k).toBe(2);
    for (let k = 0; k < 2; k++) for (let l = 0; l < 4; l++) expect(Array.from(w.ws.subarray((k * 4 + l) * 3, (k * 4 + l + 1) * 3))).toEqual(want.w.slice(k * 3, k * 3 + 3).map(Math.fround));
  });

  it('says when codes belong to a generator of another resolution', () => {
    const e = thrownBy(() => readLatentCodes(at('e4e.pt'), 18, 3));
    expect(e.code).toBe('E_SHAPE');
    expect(e.message).toMatch(/shape \[2, 4, 3\] is neither W\+ codes \[K, 18, 3\] nor w codes \[K, 3\]/);
    expect(e.hint).toMatch(/4 ws belong to a generator of another resolution \(this one has 18\)/);
    expect(thrownBy(() => readLatentCodes(at('e4e.pt'), 4, 512)).code).toBe('E_SHAPE');
  });
});
