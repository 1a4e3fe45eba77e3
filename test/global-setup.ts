/**
 * Check the Node.js version (the tests load better-sqlite3 13, which segfaults on Node 20), then
 * build the default bundles once before any test file runs (test files run in parallel and
 * would otherwise race to build them). Intact bundles are kept.
 */
import { join } from 'node:path';
import { nodeVersionProblem, nodeVersionReport } from '../pipeline/cli/node-version.mjs';

export default async function setup(): Promise<void> {
  const problem = nodeVersionProblem(process.version);
  if (problem !== undefined) throw new Error(`\n${nodeVersionReport(problem)}`);
  const { isStyleAtlasError } = await import('../pipeline/core/errors.ts');
  const { readBundle, verifyBundleFiles } = await import('../pipeline/models/bundle.ts');
  const { RECIPES } = await import('../pipeline/models/recipes/index.ts');
  const { MODELS } = await import('./helpers/bundles.ts');
  for (const r of RECIPES.filter((x) => !x.onDemand)) {
    const dir = join(MODELS, r.id);
    try {
      verifyBundleFiles(readBundle(dir));
      continue;
    } catch (e) {
      if (!isStyleAtlasError(e)) throw e;
    }
    await r.build(dir, { log: () => {} });
  }
}
