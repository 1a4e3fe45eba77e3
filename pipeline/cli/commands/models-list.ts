import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RECIPES } from '../../models/recipes/index.ts';
import { str } from '../args.ts';
import { defineCommand } from '../command.ts';

export default defineCommand({
  path: ['models', 'list'],
  summary: 'list the bundles StyleAtlas can build, and which are built',
  usage: '[--models-dir DIR]',
  details: `  --models-dir DIR  where bundles are (default: models)`,
  options: { 'models-dir': { type: 'string' } },
  async run({ values, io }) {
    const dir = str(values, 'models-dir') ?? join(io.cwd, 'models');
    for (const r of RECIPES) {
      const built = existsSync(join(dir, r.id, 'manifest.json')) ? 'built' : r.onDemand ? 'on demand' : 'not built';
      io.out(`${r.id.padEnd(14)} ${r.kind.padEnd(9)} ${built.padEnd(10)} ${r.summary}`);
    }
  },
});
