import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isStyleAtlasError } from '../../pipeline/core/errors.ts';
import {
  activeChannels,
  type Direction,
  directionJson,
  directionNpz,
  directionSafetensors,
  float32Decimal,
  pythonSnippet,
  readDirectionNpz,
  readDirectionSafetensors,
  splitByLayer,
} from '../../pipeline/store/direction-files.ts';
import { writeDirectionFiles } from '../../pipeline/store/direction-write.ts';
import { decodeSafetensors } from '../../pipeline/store/safetensors.ts';
import { tempDir } from '../helpers/tmp.ts';

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return isStyleAtlasError(e) ? `${e.code}: ${e.message}` : `uncoded: ${String(e)}`;
  }
  return 'no error';
};

// Generator order on purpose: b16 sorts before b4 by name, so order loss would show.
const layers = [
  { name: 'b4.conv1', channels: 3 },
  { name: 'b8.conv0', channels: 2 },
  { name: 'b16.conv1', channels: 4 },
];
const flat = Float32Array.from([0, 0.1, 0, -2.5, 0, 0, 0.1, 0, -0.3]);
const sampleDirection = (): Direction => ({
  layers: splitByLayer(flat, layers),
  metadata: {
    neutral: 'photo',
    target: 'red photo',
    beta: 0.15,
    alphaRange: [-10, 10],
    alphaDefault: 4.1,
    activeChannels: 4,
    generator: { id: 'tiny', sha256: 'a'.repeat(64) },
    encoder: { id: 'colour-world', sha256: 'b'.repeat(64) },
    buildId: 'b-2024',
    toolVersion: '0.1.0',
  },
});

describe('direction downloads', () => {
  it('splitByLayer cuts Δs [C_total] by layer and refuses a wrong total', () => {
    const split = splitByLayer(flat, layers);
    expect(split.map((l) => [l.name, Array.from(l.deltaS)])).toEqual([
      ['b4.conv1', [0, Math.fround(0.1), 0]],
      ['b8.conv0', [-2.5, 0]],
      ['b16.conv1', [0, Math.fround(0.1), 0, Math.fround(-0.3)]],
    ]);
    expect(code(() => splitByLayer(flat.subarray(1), layers))).toMatch(/^E_SHAPE: .*9 channels, Δs has 8/);
  });

  it('.json lists active channels by |Δs| (ties by global index) with short exact float32 decimals', () => {
    const j = JSON.parse(directionJson(sampleDirection()));
    expect(j.format).toBe('styleatlas-direction/1');
    expect(j.layers).toEqual(layers);
    expect(j.alphaRange).toEqual([-10, 10]);
    expect(j.generator).toEqual({ id: 'tiny', sha256: 'a'.repeat(64) });
    expect(j.active).toEqual([
      { layer: 'b8.conv0', index: 0, globalIndex: 3, value: -2.5 },
      { layer: 'b16.conv1', index: 3, globalIndex: 8, value: -0.3 },
      { layer: 'b4.conv1', index: 1, globalIndex: 1, value: 0.1 },
      { layer: 'b16.conv1', index: 1, globalIndex: 6, value: 0.1 },
    ]);
    for (const v of [0.1, 1 / 3, 3e-39, 123456.789, -1e30]) expect(Math.fround(float32Decimal(v))).toBe(Math.fround(v));
    expect(activeChannels([{ name: 'x', deltaS: new Float32Array(3) }])).toEqual([]);
  });

  it('.safetensors: a tensor per layer, metadata as strings, layer order kept in the header', () => {
    const bytes = directionSafetensors(sampleDirection());
    const raw = decodeSafetensors(bytes);
    expect(raw.tensors.map((t) => [t.name, t.shape])).toEqual([['b16.conv1', [4]], ['b4.conv1', [3]], ['b8.conv0', [2]]]);
    expect(raw.metadata.neutral).toBe('photo');
    expect(raw.metadata.beta).toBe('0.15');
    expect(raw.metadata.alphaRange).toBe('[-10,10]');
    const back = readDirectionSafetensors(bytes);
    expect(back.layers.map((l) => l.name)).toEqual(layers.map((l) => l.name));
    expect(back.layers.map((l) => Array.from(l.deltaS))).toEqual(sampleDirection().layers.map((l) => Array.from(l.deltaS)));
    expect(back.header.alphaDefault).toBe(4.1);
    expect(back.header.encoder.id).toBe('colour-world');
  });

  it('.npz: the same tensors in layer order plus __metadata__ JSON text', () => {
    const back = readDirectionNpz(directionNpz(sampleDirection()));
    expect(back.layers.map((l) => [l.name, Array.from(l.deltaS)])).toEqual(sampleDirection().layers.map((l) => [l.name, Array.from(l.deltaS)]));
    expect(back.header).toEqual(JSON.parse(directionJson(sampleDirection()), (k, v) => (k === 'active' ? undefined : v)));
  });

  it('writes the three files atomically', () => {
    const dir = tempDir();
    const paths = writeDirectionFiles(dir, 'red', sampleDirection());
    expect(paths.map((p) => p.slice(dir.length + 1))).toEqual(['red.safetensors', 'red.npz', 'red.json']);
    expect(paths.every((p) => existsSync(p))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'red.json'), 'utf8')).target).toBe('red photo');
  });

  it('refuses bad metadata and non-finite Δs, naming the field', () => {
    const withMeta = (patch: object): Direction => ({ ...sampleDirection(), metadata: { ...sampleDirection().metadata, ...patch } });
    expect(code(() => directionJson(withMeta({ beta: 1.5 })))).toMatch(/^E_INPUT: .*beta: expected a number in \[0, 1\], found 1.5/);
    expect(code(() => directionJson(withMeta({ alphaRange: [3, 3] })))).toMatch(/^E_INPUT: .*alphaRange/);
    expect(code(() => directionJson(withMeta({ alphaDefault: 11 })))).toMatch(/^E_INPUT: .*alphaDefault: expected a number in \[-10, 10\]/);
    expect(code(() => directionJson(withMeta({ activeChannels: 3 })))).toMatch(/^E_INPUT: .*activeChannels: expected an integer ≥ 4/);
    expect(code(() => directionJson(withMeta({ generator: { id: 'tiny', sha256: 'xyz' } })))).toMatch(/^E_INPUT: .*generator.sha256/);
    expect(code(() => directionJson(withMeta({ target: ' ' })))).toMatch(/^E_INPUT: .*target: expected a non-empty string/);
    const d = sampleDirection();
    d.layers[1].deltaS[1] = Number.NaN;
    expect(code(() => directionNpz(d))).toMatch(/^E_NUMERIC: .*b8.conv0\[1\] is NaN/);
    const dup = sampleDirection();
    expect(code(() => directionSafetensors({ ...dup, layers: [dup.layers[0], dup.layers[0]] }))).toMatch(/^E_INPUT: .*unique non-empty layer names/);
  });

  it('pythonSnippet names the file, loads it the right way, and refuses other kinds', () => {
    expect(pythonSnippet('red "1".npz')).toContain('FILE = "red \\"1\\".npz"');
    expect(pythonSnippet('a.npz')).toContain('np.load(FILE)');
    expect(pythonSnippet('a.safetensors')).toContain('safe_open(FILE, framework="numpy")');
    expect(code(() => pythonSnippet('a.json'))).toMatch(/^E_INPUT: /);
  });
});
