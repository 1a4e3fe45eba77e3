/**
 * Build the default bundles once before any test file runs (test files run in parallel and
 * would otherwise race to build them). Intact bundles are kept.
 */
import { join } from 'node:path';
import { isStyleAtlasError } from '../pipeline/core/errors.ts';
import { readBundle, verifyBundleFiles } from '../pipeline/models/bundle.ts';
import { RECIPES } from '../pipeline/models/recipes/index.ts';
import { MODELS } from './helpers/bundles.ts';

export default async function setup(): Promise<void> {
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
