import { resolve } from 'node:path';
import { REFERENCE_SUBSETS, exportReference, parseReferenceSubset } from '../../stages/reference-export.ts';
import { flag, requireStr, str } from '../args.ts';
import { defineCommand } from '../command.ts';

export default defineCommand({
  path: ['export', 'reference'],
  summary: "write a build as the StyleCLIP reference's files (fs3.npy, S_mean_std) for its code and HyperStyle's",
  usage: '--build DIR --out DIR [--channels reference|conv] [--force]',
  details: `Writes the files the StyleCLIP reference code (global_directions, global_torch) and HyperStyle
load, so their own code runs on a StyleAtlas build unchanged:

  fs3.npy                  float32 [C, D]: the relevance rows of the chosen conv channels, in the
                           reference's order (synthesis order, toRGB layers left out)
  S_mean_std               pickle of [m, std]: one float32 array [C_l] per style layer (toRGB
                           included), as \`m, std = pickle.load(fp)\` reads it
  styleatlas-export.json   where the numbers came from (build, bundles, settings)

  --build DIR          a finished relevance build (or an imported one)
  --out DIR            folder to write into (e.g. the reference's npy/ffhq/)
  --channels SET       ${Object.entries(REFERENCE_SUBSETS).map(([k, v]) => `${k}: ${v}`).join('\n                       ')}
                       (default reference)
  --force              replace those files when --out already has them

See docs/reference-files.md.`,
  options: { build: { type: 'string' }, out: { type: 'string' }, channels: { type: 'string' }, force: { type: 'boolean' } },
  async run({ values, io }) {
    const r = exportReference(resolve(io.cwd, requireStr(values, 'build')), resolve(io.cwd, requireStr(values, 'out')), {
      subset: parseReferenceSubset(str(values, 'channels') ?? 'reference'),
      force: flag(values, 'force'),
    });
    io.err(`export reference: fs3.npy [${r.rows}, ${r.dim}] and S_mean_std → ${r.dir}`);
    io.out(r.dir);
  },
});
