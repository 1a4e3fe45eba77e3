/** Test access to the shipped bundles, built once per run by test/global-setup.ts. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const MODELS = join(REPO, 'models');

export function modelDir(id: string): string {
  return join(MODELS, id);
}
