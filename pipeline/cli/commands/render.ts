import { resolve } from 'node:path';
import { fail } from '../../core/errors.ts';
import { tileGrid, toRGB8 } from '../../core/image.ts';
import { Generator } from '../../models/generator.ts';
import { writeRGB } from '../../store/images.ts';
import { int, num, parseIntList, requireStr, str } from '../args.ts';
import { defineCommand } from '../command.ts';
import { runtimeOptionHelp, runtimeOptionSpec, runtimeOptions } from '../runtime-options.ts';
import { checkOutputFile } from '../../store/output-errors.ts';

export default defineCommand({
  path: ['render'],
  summary: 'render seeded samples of a generator as a PNG contact sheet',
  usage: '--generator DIR --out FILE.png [--seeds 0-7] [--psi 0.7] [--cols N] [--scale K]',
  details: `Each seed gives one image: z ~ N(0, I) from that seed, w = mapping(z), truncation ψ.

  --generator DIR   generator bundle (e.g. models/tiny)
  --out FILE        .png or .webp
  --seeds LIST      e.g. 0-7 or 1,5,9-12 (default 0-7)
  --psi X           truncation ψ in [0, 1] (default 0.7)
  --cols N          images per row (default: up to 8)
  --scale K         enlarge small images K× with crisp pixels (default: 1, or 2 below 128 px)
${runtimeOptionHelp}`,
  options: {
    generator: { type: 'string' },
    out: { type: 'string' },
    seeds: { type: 'string' },
    psi: { type: 'string' },
    cols: { type: 'string' },
    scale: { type: 'string' },
    ...runtimeOptionSpec,
  },
  async run({ values, io }) {
    const out = requireStr(values, 'out');
    if (!/\.(png|webp)$/i.test(out)) fail('E_INPUT', `--out must end in .png or .webp, got ${out}`);
    checkOutputFile(resolve(io.cwd, out));
    const seeds = parseIntList(str(values, 'seeds') ?? '0-7', '--seeds');
    if (seeds.length > 4096) fail('E_INPUT', `--seeds: ${seeds.length} images is too many for one sheet (max 4096)`);
    const psi = num(values, 'psi', 0.7, [0, 1]);
    const cols = int(values, 'cols', Math.min(8, seeds.length), [1, 256]);
    const gen = await Generator.open(requireStr(values, 'generator'), runtimeOptions(values, io));
    const res = gen.arch.resolution;
    const scale = num(values, 'scale', res < 128 ? 2 : 1, [0.05, 16]);
    try {
      const tiles: Uint8Array[] = [];
      for (let i = 0; i < seeds.length; i += 16) {
        const chunk = seeds.slice(i, i + 16);
        const image = await gen.synthesis(await gen.stylesForSeeds(chunk, psi), chunk.length);
        chunk.forEach((_, b) => tiles.push(toRGB8(image, b, res, res)));
      }
      const grid = tileGrid(tiles, { rows: Math.ceil(seeds.length / cols), cols, tile: res, gap: Math.max(1, res >> 5), background: [255, 255, 255] });
      await writeRGB(out, grid.data, grid.width, grid.height, scale);
      io.err(`${gen.manifest.id}: ${seeds.length} images (ψ=${psi}) → ${out}`);
      io.out(out);
    } finally {
      await gen.release();
    }
  },
});
