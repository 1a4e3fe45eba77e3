import { expect, it } from 'vitest';
import { galleryAlphas } from '../../pipeline/stages/galleries.ts';

it('a gallery row spans the α range evenly and always holds the unedited image (α = 0)', () => {
  expect(galleryAlphas([-10, 10], 9)).toEqual([-10, -7.5, -5, -2.5, 0, 2.5, 5, 7.5, 10]);
  // Eight even steps over [-4, 4] miss 0; the value nearest to it becomes 0.
  expect(galleryAlphas([-4, 4], 8)).toEqual([-4, -2.857143, -1.714286, 0, 0.571429, 1.714286, 2.857143, 4]);
  // A range on one side of 0 has no unedited image to show.
  expect(galleryAlphas([1, 3], 3)).toEqual([1, 2, 3]);
});
