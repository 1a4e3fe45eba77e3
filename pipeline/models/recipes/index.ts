/** Every bundle StyleAtlas can build from code, in build order (generators, then encoders). */
import type { Recipe } from './recipe.ts';
import { tinyRecipe, ffhqArchRecipe } from './stylegan2-random.ts';
import { tinyClipRecipe, vitB32ArchRecipe } from './clip-random.ts';
import { colourWorldRecipe } from './colour-world.ts';

export const RECIPES: readonly Recipe[] = [tinyRecipe, ffhqArchRecipe, tinyClipRecipe, vitB32ArchRecipe, colourWorldRecipe];

export function findRecipe(id: string): Recipe | undefined {
  return RECIPES.find((r) => r.id === id);
}
