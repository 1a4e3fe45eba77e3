/** The mapper's pure parts: batch order (core/mapper.ts), edits, and the mapper.safetensors file (store/mapper-file.ts). */
import { describe, expect, it } from 'vitest';
import { epochPermutation, initialMapperWeights, mapperEdits, trainingBatch } from '../../pipeline/core/mapper.ts';
import { decodeMapperFile, encodeMapperFile } from '../../pipeline/store/mapper-file.ts';
import { decodeSafetensors, encodeSafetensors } from '../../pipeline/store/safetensors.ts';
import { thrownBy } from '../helpers/errors.ts';

describe('training batches', () => {
  it('visit every code once per epoch, in a seeded order, dropping the incomplete last batch', () => {
    const epoch0 = Array.from({ length: 3 }, (_, s) => trainingBatch(7, s, 7, 2)).flat();
    expect(epoch0).toHaveLength(6);
    expect(new Set(epoch0).size).toBe(6);
    expect(Array.from(epochPermutation(7, 0, 7)).slice(0, 6)).toEqual(epoch0);
    const epoch1 = Array.from({ length: 3 }, (_, s) => trainingBatch(7, 3 + s, 7, 2)).flat();
    expect(epoch1).toEqual(Array.from(epochPermutation(7, 1, 7)).slice(0, 6));
    expect(epoch1).not.toEqual(epoch0);
    expect(trainingBatch(7, 12345, 7, 2)).toEqual(trainingBatch(7, 12345, 7, 2));
    expect(trainingBatch(8, 0, 1000, 4)).not.toEqual(trainingBatch(7, 0, 1000, 4));
    expect([...epochPermutation(3, 5, 100)].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(() => trainingBatch(0, 0, 1, 2)).toThrow(/1 training codes cannot fill one batch of 2/);
  });
});

describe('mapper edits', () => {
  it('are w + α·0.1·M(w) for every code and strength, row (code, strength)', () => {
    const ws = Float32Array.of(1, 2, 3, 4);
    const delta = Float32Array.of(10, 20, -10, 0);
    expect(Array.from(mapperEdits(ws, delta, 2, [0, 1, -2]))).toEqual([1, 2, 2, 4, -1, -2, 3, 4, 2, 4, 5, 4].map((v) => Math.fround(v)));
  });
});

describe('mapper.safetensors', () => {
  const meta = {
    target: 'a blue photo', numWs: 10, wDim: 8, generator: { id: 'tiny', sha256: 'a'.repeat(64) }, encoder: { id: 'colour-world', sha256: 'b'.repeat(64) },
    steps: 5, settings: { lr: 0.5 }, toolVersion: '0.1.0',
  };
  it('holds the official parameter names and reads back the same weights and metadata', () => {
    const w = initialMapperWeights({ numWs: 10, wDim: 8 }, 3);
    const bytes = encodeMapperFile(w, meta);
    const raw = decodeSafetensors(bytes);
    expect(raw.tensors.map((t) => t.name)).toContain('course_mapping.mapping.1.weight');
    expect(raw.tensors).toHaveLength(3 * 4 * 2);
    expect(raw.metadata.target).toBe('a blue photo');
    expect(JSON.parse(raw.metadata.groups)).toEqual([{ name: 'coarse', start: 0, end: 4 }, { name: 'medium', start: 4, end: 8 }, { name: 'fine', start: 8, end: 10 }]);
    const back = decodeMapperFile(bytes);
    expect(back.header.numWs).toBe(10);
    expect(back.header.generator).toEqual(meta.generator);
    for (const [k, v] of w) expect(back.weights.get(k), k).toEqual(v);
  });

  it('refuses files that are not mappers of their stated shape', () => {
    const w = initialMapperWeights({ numWs: 10, wDim: 8 }, 3);
    const noFormat = encodeSafetensors([{ name: 'x', shape: [1], data: Float32Array.of(1) }]);
    expect(thrownBy(() => decodeMapperFile(noFormat)).message).toMatch(/metadata has no "format"/);
    const raw = decodeSafetensors(encodeMapperFile(w, meta));
    const wrongShape = encodeSafetensors(raw.tensors, { ...raw.metadata, wDim: '16' });
    expect(thrownBy(() => decodeMapperFile(wrongShape)).code).toBe('E_SHAPE');
    const fewer = encodeSafetensors(raw.tensors.filter((t) => !t.name.startsWith('fine_')), raw.metadata);
    expect(thrownBy(() => decodeMapperFile(fewer)).message).toMatch(/fine_mapping\.mapping\.1\.bias is missing|fine_mapping.* is missing/);
  });
});
