/**
 * The catalogue's live-page files (pipeline/stages/downloads.ts publishLiveAssets): a model file over
 * its LIVE_LIMITS size is left off with a sentence saying which file, how large, the limit and what
 * it costs (the CLI prints it; before, it was dropped without a word). Sparse files stand in for a
 * ViT-B/32 text tower (~242 MiB) without writing one.
 */
import { existsSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { LIVE_LIMITS, publishLiveAssets } from '../../pipeline/stages/downloads.ts';
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
