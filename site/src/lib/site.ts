/**
 * Build-time helpers shared by the pages: the catalogue (read once per build), site URLs and
 * number formatting. Runs in Node during `astro build`, never in the browser.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readSiteCatalogue, type SiteBuild, type SiteCatalogue, type SiteDirection, type SiteModel } from '../../../pipeline/site/catalogue-data.ts';

let cached: SiteCatalogue | undefined;

/** The catalogue named by STYLEATLAS_CATALOGUE (checked by the integration before any page renders). */
export function catalogue(): SiteCatalogue {
  const dir = process.env.STYLEATLAS_CATALOGUE;
  if (!dir) throw new Error('STYLEATLAS_CATALOGUE is not set');
  cached ??= readSiteCatalogue(dir);
  return cached;
}

const BASE = import.meta.env.BASE_URL.endsWith('/') ? import.meta.env.BASE_URL : `${import.meta.env.BASE_URL}/`;

export const url = {
  home: () => BASE,
  direction: (d: Pick<SiteDirection, 'buildId' | 'slug'>) => `${BASE}d/${d.buildId}/${d.slug}/`,
  mapper: (m: { buildId: string; slug: string }) => `${BASE}m/${m.buildId}/${m.slug}/`,
  compare: (c: { buildId: string; slug: string }) => `${BASE}compare/${c.buildId}/${c.slug}/`,
  build: (id: string) => `${BASE}builds/${id}/`,
  methods: (buildId: string) => `${BASE}methods/${buildId}/`,
  live: (buildId?: string) => `${BASE}live/${buildId ? `?build=${encodeURIComponent(buildId)}` : ''}`,
  /** Catalogue paths are already checked to be plain relative paths under assets/. */
  asset: (path: string) => `${BASE}${path}`,
};

export function fmt(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 10 ** -digits) ? v.toExponential(2) : v.toFixed(digits).replace(/\.?0+$/, '') || '0';
}

/** A plain-words label for where a model's weights come from, so no one mistakes a demo for a trained model. */
export function originLabel(m: SiteModel): string {
  switch (m.origin.type) {
    case 'random':
      return 'random weights — not a trained model';
    case 'hand-built':
      return 'hand-built oracle — not a trained model';
    default:
      return m.origin.type ? `weights: ${m.origin.type}` : 'origin not recorded';
  }
}

export function buildOf(id: string): SiteBuild {
  const b = catalogue().builds.find((x) => x.id === id);
  if (!b) throw new Error(`no build ${id}`);
  return b;
}

/** JSON for a <script type="application/json"> body: "<", ">" and "&" escaped so data can never close the tag. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

export function assetSize(path: string): string {
  return fileSize(statSync(join(catalogue().dir, path)).size);
}

/** The comparison page of a (build, prompt), if more than one method made it. */
export function comparisonOf(x: { buildId: string; slug: string }): { buildId: string; slug: string } | undefined {
  return catalogue().comparisons.find((c) => c.buildId === x.buildId && c.slug === x.slug);
}

/** A catalogue asset's size and sha256, for the browser to check and cache it by. */
export function assetRef(path: string): { url: string; bytes: number; sha256: string } {
  const bytes = readFileSync(join(catalogue().dir, path));
  return { url: url.asset(path), bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** A catalogue asset that is JSON, parsed. */
export function assetJson<T>(path: string): T {
  return JSON.parse(readFileSync(join(catalogue().dir, path), 'utf8')) as T;
}
