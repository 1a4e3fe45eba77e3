/**
 * The catalogue's live-page files (pipeline/stages/downloads.ts publishLiveAssets): a model file over
 * its LIVE_LIMITS size is left off with a sentence saying which file, how large, the limit and what
 * it costs (the CLI prints it; before, it was dropped without a word). Sparse files stand in for a
 * ViT-B/32 text tower (~242 MiB) without writing one. And publishLiveText: the text tower the live
 * box runs (float32, the catalogue's checked int8 copy, or none with the reason), in text-tower.json.
 */
import { existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { LIVE_LIMITS, LIVE_TEXT_FORMAT, publishLiveAssets, publishLiveText } from '../../pipeline/stages/downloads.ts';
import { tempDir } from '../helpers/tmp.ts';

it('publishes files within the limits and names each one left off, with its size and the limit', () => {
  const tmp = tempDir();
  const src = join(tmp, 'bundle');
  mkdirSync(src);
  const small = join(src, 'tokenizer.json');
  writeFileSync(small, '{}');
  const text = join(src, 'text.onnx');
  writeFileSync(text, '');
  truncateSync(text, 242 * 2 ** 20);
  const synthesis = join(src, 'synthesis.onnx');
  writeFileSync(synthesis, '');
  truncateSync(synthesis, LIVE_LIMITS.synthesis); // exactly at the limit: published
  const leftOut: string[] = [];
  const assets = publishLiveAssets(join(tmp, 'assets'), [
    { key: 'text', modelId: 'vitb32-arch', path: text },
    { key: 'tokenizer', modelId: 'vitb32-arch', path: small },
    { key: 'synthesis', modelId: 'tiny', path: synthesis },
  ], (p) => p.slice(tmp.length + 1), leftOut);
  expect(Object.keys(assets).sort()).toEqual(['synthesis', 'tokenizer']);
  expect(existsSync(join(tmp, 'assets', 'models', 'vitb32-arch', 'text.onnx'))).toBe(false);
  expect(leftOut).toEqual([
    'vitb32-arch text.onnx is 242.0 MiB, over the 64.0 MiB the live pages download: left off, so the live prompt box cannot run its builds (directions, galleries and downloads are unaffected)',
  ]);
});

it('publishLiveText writes text-tower.json saying which tower ships, or why none does', () => {
  const tmp = tempDir();
  const text = join(tmp, 'text.onnx');
  writeFileSync(text, 'float32 tower');
  const rel = (p: string) => p.slice(tmp.length + 1);
  const read = (p: string) => JSON.parse(readFileSync(join(tmp, p), 'utf8'));
  const leftOut: string[] = [];
  const f = publishLiveText(join(tmp, 'a'), 'tiny-clip', text, { tower: 'float32', bytes: 13 }, rel, leftOut);
  expect(f).toEqual({ text: 'a/models/tiny-clip/text.onnx', textTower: 'a/models/tiny-clip/text-tower.json' });
  expect(read(f.textTower)).toEqual({ format: LIVE_TEXT_FORMAT, model: 'tiny-clip', tower: 'float32', file: f.text, bytes: 13 });
  const agreement = { pairs: 2, minCosine: 0.9995, medianCosine: 0.9997, worst: { neutral: 'face', target: 'old face' }, minRequired: 0.999, promptSet: 'faces' };
  const q = publishLiveText(join(tmp, 'b'), 'big', text, { tower: 'int8', bytes: 4, sha256: 'ab', data: Uint8Array.of(1, 2, 3, 4), agreement, quantisation: 'int8' }, rel, leftOut);
  expect(readFileSync(join(tmp, q.text))).toEqual(Buffer.from([1, 2, 3, 4]));
  expect(read(q.textTower)).toEqual({ format: LIVE_TEXT_FORMAT, model: 'big', tower: 'int8', file: 'b/models/big/text.int8.onnx', bytes: 4, sha256: 'ab', agreement, quantisation: 'int8', float32: { bytes: 13 } });
  expect(leftOut).toEqual([]);
  const none = publishLiveText(join(tmp, 'c'), 'big', text, { tower: 'none', code: 'E_LIVE_TEXT', reason: 'its int8 copy disagrees' }, rel, leftOut);
  expect(Object.keys(none)).toEqual(['textTower']);
  expect(read(none.textTower)).toMatchObject({ tower: 'none', code: 'E_LIVE_TEXT', reason: 'its int8 copy disagrees' });
  expect(leftOut).toEqual(['big text.onnx (0.0 MiB) is left off: its int8 copy disagrees (E_LIVE_TEXT), so the live prompt box cannot run its builds (directions, galleries and downloads are unaffected)']);
});
