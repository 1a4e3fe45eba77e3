import { join } from 'node:path';
import { fail, isStyleAtlasError } from '../../core/errors.ts';
import { readBundle, verifyBundleFiles } from '../../models/bundle.ts';
import { RECIPES, findRecipe } from '../../models/recipes/index.ts';
import { flag, str } from '../args.ts';
import { defineCommand } from '../command.ts';

export default defineCommand({
  path: ['models', 'build'],
  summary: 'build the bundled models from code (deterministic; random or hand-built weights)',
  usage: '[ID…] [--models-dir DIR] [--force]',
  details: `Builds model bundles from code: the same command gives the same bytes on every machine.
With no ID, builds every default bundle (${RECIPES.filter((r) => !r.onDemand).map((r) => r.id).join(', ')}).
Large ones are built only when named: ${RECIPES.filter((r) => r.onDemand).map((r) => r.id).join(', ')}.
None of these are trained models; see \`styleatlas models list\`.

  --models-dir DIR  where bundles go (default: models)
  --force           rebuild even when an intact bundle is already there`,
  options: { 'models-dir': { type: 'string' }, force: { type: 'boolean' } },
  positionals: true,
  async run({ values, positionals, io }) {
    const dir = str(values, 'models-dir') ?? join(io.cwd, 'models');
    const ids = positionals.length ? positionals : RECIPES.filter((r) => !r.onDemand).map((r) => r.id);
    const recipes = ids.map((id) => findRecipe(id) ?? fail('E_USAGE', `unknown model "${id}"; known: ${RECIPES.map((r) => r.id).join(', ')}`));
    for (const r of recipes) {
      const out = join(dir, r.id);
      if (!flag(values, 'force') && intact(out)) {
        io.err(`${r.id}: up to date in ${out} (--force rebuilds)`);
        continue;
      }
      const t0 = performance.now();
      const b = await r.build(out, { log: (m) => io.err(m) });
      const bytes = Object.values(b.manifest.files).flat().reduce((s, f) => s + f.bytes, 0);
      io.err(`${r.id}: built in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${(bytes / 2 ** 20).toFixed(1)} MiB → ${out}`);
      io.out(out);
    }
  },
});

function intact(dir: string): boolean {
  try {
    verifyBundleFiles(readBundle(dir));
    return true;
  } catch (e) {
    if (isStyleAtlasError(e)) return false;
    throw e;
  }
}
