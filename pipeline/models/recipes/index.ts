/** Every bundle StyleAtlas can build from code, in build order (generators, encoders, identity networks). */
import type { Recipe } from './recipe.ts';
import { tinyRecipe, ffhqArchRecipe } from './stylegan2-random.ts';
import { tinyClipRecipe, vitB32ArchRecipe } from './clip-random.ts';
import { colourWorldRecipe } from './colour-world.ts';
import { irSe50ArchRecipe, tinyIrSeRecipe } from './ir-se-random.ts';

export const RECIPES: readonly Recipe[] = [tinyRecipe, ffhqArchRecipe, tinyClipRecipe, vitB32ArchRecipe, colourWorldRecipe, tinyIrSeRecipe, irSe50ArchRecipe];

export function findRecipe(id: string): Recipe | undefined {
  return RECIPES.find((r) => r.id === id);
}
