/**
 * A recipe builds one of the bundles StyleAtlas ships, from code, deterministically:
 * the same recipe gives the same bytes on every machine.
 */
import type { Bundle } from '../bundle.ts';

export interface RecipeContext {
  /** Progress lines for people (stderr). */
  log(message: string): void;
}

export interface Recipe {
  id: string;
  kind: 'generator' | 'encoder' | 'identity';
  summary: string;
  /** Large bundles (FFHQ/ViT-B/32 shapes) are built only when named, never by default. */
  onDemand: boolean;
  build(outDir: string, ctx: RecipeContext): Promise<Bundle>;
}
