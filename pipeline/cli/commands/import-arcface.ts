import { existsSync } from 'node:fs';
import { fail } from '../../core/errors.ts';
import { importArcface } from '../../models/import/arcface.ts';
import { checkBundleId, idFromPath } from '../../models/import/common.ts';
import { flag, requireStr, str } from '../args.ts';
import { defineCommand } from '../command.ts';

export default defineCommand({
  path: ['import', 'arcface'],
  summary: "import the IR-SE50 ArcFace of StyleCLIP's identity loss (model_ir_se50.pth) as an identity bundle",
  usage: '<model_ir_se50.pth> --out DIR [--id NAME] [--force]',
  details: `Reads TreB1eN's IR-SE Backbone state dict as data (nothing in the file is run), derives the
depth and widths from the shapes, and writes network.onnx (face [B,3,112,112] in [-1, 1] → unit
features [B,512]) with the BatchNorms in evaluation mode. Use it with \`styleatlas optimise
--identity DIR --lambda-id X\`. Nothing is written on failure.

  <checkpoint>   model_ir_se50.pth (or another IR-SE depth in the same layout)
  --out DIR      bundle folder to create (e.g. models/ir-se50)
  --id NAME      bundle id (default: the folder name, lower-cased)
  --force        replace an existing bundle folder`,
  options: { out: { type: 'string' }, id: { type: 'string' }, force: { type: 'boolean' } },
  positionals: true,
  async run({ values, positionals, io }) {
    if (positionals.length !== 1) fail('E_USAGE', `expected one checkpoint file, got ${positionals.length}`, 'styleatlas import arcface --help');
    const out = requireStr(values, 'out');
    if (existsSync(out) && !flag(values, 'force')) fail('E_INPUT', `--out ${out} already exists`, 'pass --force to replace it');
    const t0 = performance.now();
    const bundle = await importArcface(positionals[0], out, { id: checkBundleId(str(values, 'id') ?? idFromPath(out)), log: (m) => io.err(m) });
    io.err(`${bundle.manifest.id}: IR-SE imported in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${bundle.dir}`);
    io.out(bundle.dir);
  },
});
