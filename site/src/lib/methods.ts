/**
 * What the method comparisons read off a direction and a build: method 3's score at the gallery
 * column nearest the default α, the one-off relevance build's seconds, and seconds as people read them.
 */
import type { SiteBuild, SiteDirection } from '../../../pipeline/site/catalogue-data.ts';

export function method3At(d: SiteDirection): { alpha: number; col: number; score: number } {
  const col = d.galleryAlphas.reduce((best, a, i) => (Math.abs(a - d.alphaDefault) < Math.abs(d.galleryAlphas[best] - d.alphaDefault) ? i : best), 0);
  const alpha = d.galleryAlphas[col];
  return { alpha, col, score: d.scoreCurve.find((p) => p.alpha === alpha)?.score ?? Number.NaN };
}

export function relevanceSeconds(b: SiteBuild): number {
  return b.timings.reduce((s, t) => s + t.seconds, 0);
}

export function seconds(s: number): string {
  if (s < 1) return `${(s * 1000).toPrecision(3)} ms`;
  if (s < 120) return `${s.toPrecision(3)} s`;
  return `${(s / 60).toPrecision(3)} min`;
}
