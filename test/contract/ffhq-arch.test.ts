/** ffhq-arch: the FFHQ-1024 shapes, built on demand (~3 s, 137 MiB) and rendered once. */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Generator } from '../../pipeline/models/generator.ts';
import { ffhqArchRecipe } from '../../pipeline/models/recipes/stylegan2-random.ts';
import { tempDir } from '../helpers/tmp.ts';

it('has the FFHQ layer table and renders 1024×1024 images', async () => {
  const dir = join(tempDir(), 'ffhq-arch');
  const b = await ffhqArchRecipe.build(dir, { log: () => {} });
  if (b.manifest.kind !== 'generator') throw new Error('not a generator');
  expect(b.manifest.layers).toHaveLength(26);
  expect(b.manifest.architecture.numWs).toBe(18);
  expect(b.manifest.layers.reduce((s, l) => s + l.channels, 0)).toBe(9088);
  expect(b.manifest.layers.filter((l) => l.kind === 'conv').reduce((s, l) => s + l.channels, 0)).toBe(6048);
  const gen = await Generator.open(dir);
  try {
    const image = await gen.synthesis(await gen.stylesForSeeds([0], 0.7), 1);
    expect(image.length).toBe(3 * 1024 * 1024);
    let sum = 0;
    for (const v of image) sum += v * v;
    expect(Math.sqrt(sum / image.length)).toBeGreaterThan(0.05); // a real image, not zeros
  } finally {
    await gen.release();
  }
}, 300_000);
