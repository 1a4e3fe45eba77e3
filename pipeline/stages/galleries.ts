/**
 * The galleries stage: K fixed samples × a row of edit strengths (WebP tiles), and what the
 * pictures measure along the row — the mean CLIP score of the target text and the mean pixel
 * colour. A direction's row is s' = s + α Δs (editCodes); a mapper's is w + α·0.1·M_t(w) (the
 * mapper stage's codes). One render+encode session gives pictures and scores.
 */
import { join } from 'node:path';
import { type PixelStats, pixelStats, toRGB8 } from '../core/image.ts';
import { dot, norm } from '../core/vec.ts';
import type { Generator } from '../models/generator.ts';
import type { InferenceRunner } from '../models/runtime.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import type { GalleryItem, PixelCurve, ScoreCurve } from '../store/catalogue-schema.ts';
import { encodeRGB } from '../store/images.ts';
import { renderCodes } from './edits.ts';

/** The catalogue's gallery defaults: four fixed samples (seeds 1000–1003) × nine α values. */
export const GALLERY_DEFAULTS = Object.freeze({ seeds: Object.freeze([1000, 1001, 1002, 1003]), columns: 9 });

/** α values of a gallery row: evenly over the range, with 0 (the unedited image) included. */
export function galleryAlphas(range: readonly [number, number], columns: number): number[] {
  const [lo, hi] = range;
  const row = Array.from({ length: columns }, (_, i) => +(lo + ((hi - lo) * i) / (columns - 1)).toFixed(6));
  if (lo < 0 && hi > 0 && !row.includes(0)) {
    let k = 0;
    row.forEach((a, i) => (Math.abs(a) < Math.abs(row[k]) ? (k = i) : 0));
    row[k] = 0;
  }
  return row;
}

export interface GalleryJob {
  gen: Generator;
  /** A render+encode session that also outputs `image` (buildRenderEncodeModel withImage). */
  session: InferenceRunner;
  /** The edited codes s [K·A, C_total], row (k, a) = sample k at alphas[a], and the samples' seeds (one per row). */
  codes: Float32Array;
  seeds: readonly number[];
  alphas: readonly number[];
  /** t(target), for the score cos(E_I(image), t(target)). */
  tTarget: Float32Array;
  /** Folder of this direction's tiles, and how a path is written in the catalogue. */
  dir: string;
  relative: (path: string) => string;
}

export interface Gallery {
  items: GalleryItem[];
  scoreCurve: ScoreCurve;
  pixelCurve: PixelCurve;
}

export async function renderGallery(j: GalleryJob): Promise<Gallery> {
  const { gen, seeds, alphas } = j;
  const k = seeds.length;
  const { images, embeds } = await renderCodes(gen, j.codes, k * alphas.length, { session: j.session });
  const res = gen.arch.resolution;
  const tile = Math.min(res, 256);
  const dim = j.tTarget.length;
  const items: GalleryItem[] = [];
  const scoreSum = new Float64Array(alphas.length);
  const pixels: PixelStats[] = alphas.map(() => ({ red: 0, green: 0, blue: 0, brightness: 0, saturation: 0 }));
  for (let row = 0; row < k; row++)
    for (let col = 0; col < alphas.length; col++) {
      const n = row * alphas.length + col;
      const path = join(j.dir, `${row}-${col}.webp`);
      writeFileAtomic(path, await encodeRGB(toRGB8(images, n, res, res), res, res, 'webp', tile / res));
      items.push({ sampleSeed: seeds[row], alpha: alphas[col], row, col, path: j.relative(path), width: tile, height: tile });
      const e = embeds!.subarray(n * dim, (n + 1) * dim);
      scoreSum[col] += dot(e, j.tTarget) / (norm(e) * norm(j.tTarget));
      const st = pixelStats(images, n, res, res);
      for (const key of Object.keys(st) as (keyof PixelStats)[]) pixels[col][key] += st[key] / k;
    }
  return {
    items,
    scoreCurve: alphas.map((alpha, i) => ({ alpha, score: scoreSum[i] / k })),
    pixelCurve: alphas.map((alpha, i) => ({ alpha, ...pixels[i] })),
  };
}
