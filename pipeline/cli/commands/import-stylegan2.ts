import { existsSync } from 'node:fs';
import { fail } from '../../core/errors.ts';
import { checkBundleId, idFromPath } from '../../models/import/common.ts';
import { ROSINALITY_LR_MLP } from '../../models/import/stylegan2-rosinality.ts';
import { STYLEGAN2_FORMATS, importStyleGAN2, parseStyleGAN2Format } from '../../models/import/stylegan2.ts';
import { flag, num, requireStr, str } from '../args.ts';
import { defineCommand } from '../command.ts';

export default defineCommand({
  path: ['import', 'stylegan2'],
  summary: 'import a StyleGAN2 checkpoint (rosinality .pt or NVIDIA .pkl) as a generator bundle',
  usage: '<checkpoint> --out DIR [--format rosinality|nvidia] [--id NAME] [--mapping-lr-mul X] [--force]',
  details: `Reads the checkpoint as data (nothing in it is run), derives the architecture from the tensor
shapes (resolution, channel widths, z/w sizes, mapping depth) and writes mapping/styles/synthesis
graphs and w_avg. The manifest records the checkpoint's sha256. Nothing is written on failure.

  <checkpoint>          rosinality/stylegan2-pytorch .pt ({'g_ema', 'latent_avg'} or a bare g_ema
                        state dict) or an NVIDIA stylegan2-ada-pytorch network .pkl (G_ema)
  --out DIR             bundle folder to create (e.g. models/ffhq)
  --format NAME         ${STYLEGAN2_FORMATS.join(' or ')} (default: recognised from the file)
  --id NAME             bundle id (default: the folder name, lower-cased)
  --mapping-lr-mul X    rosinality only: the mapping's lr_mul (default ${ROSINALITY_LR_MLP}, rosinality's lr_mlp;
                        checkpoints do not record it)
  --force               replace an existing bundle folder

See docs/bring-your-own-generator.md.`,
  options: {
    out: { type: 'string' },
    format: { type: 'string' },
    id: { type: 'string' },
    'mapping-lr-mul': { type: 'string' },
    force: { type: 'boolean' },
  },
  positionals: true,
  async run({ values, positionals, io }) {
    if (positionals.length !== 1) fail('E_USAGE', `expected one checkpoint file, got ${positionals.length}`, 'styleatlas import stylegan2 --help');
    const out = requireStr(values, 'out');
    if (existsSync(out) && !flag(values, 'force')) fail('E_INPUT', `--out ${out} already exists`, 'pass --force to replace it');
    const id = checkBundleId(str(values, 'id') ?? idFromPath(out));
    const format = str(values, 'format');
    const lr = str(values, 'mapping-lr-mul') === undefined ? undefined : num(values, 'mapping-lr-mul', ROSINALITY_LR_MLP, [1e-6, 1]);
    const t0 = performance.now();
    const r = await importStyleGAN2(positionals[0], out, {
      id,
      format: format === undefined ? undefined : parseStyleGAN2Format(format),
      mappingLrMul: lr,
      log: (m) => io.err(m),
    });
    for (const w of r.warnings) io.err(`warning: ${w}`);
    const m = r.bundle.manifest;
    const bytes = Object.values(m.files).flat().reduce((s, f) => s + f.bytes, 0);
    io.err(`${m.id}: ${r.format} checkpoint imported in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${m.layers.length} style layers, ${(bytes / 2 ** 20).toFixed(1)} MiB → ${r.bundle.dir}`);
    io.out(r.bundle.dir);
  },
});
