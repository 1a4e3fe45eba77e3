/**
 * The catalogue's latent mappers as the site sees them (the mappers tables, checked as
 * catalogue-data.ts checks directions: slugs become URL paths only when safe, every asset path
 * must be a plain relative path under assets/ that exists), and the comparisons: one per
 * (build, prompt) that has more than one method, joining the methods' own tables.
 */
import { fail } from '../core/errors.ts';
import type { CatalogueDb } from '../store/catalogue-db.ts';
import type { MapperRow } from '../store/catalogue-schema.ts';
import { checkAsset, checkSegment, json } from './catalogue-data.ts';

export interface SiteMapper extends MapperRow {
  files: { safetensors: string; onnx: string };
  /** gallery[row][col]: sample row × strength column. */
  gallery: { sampleSeed: number; strength: number; path: string; width: number; height: number }[][];
}

type Row = Record<string, unknown>;

const parse = <T>(text: unknown, what: string): T => json<T>(String(text), what);

export function readSiteMappers(cat: CatalogueDb, dir: string, buildIds: ReadonlySet<string>): SiteMapper[] {
  const all = (sql: string, ...args: unknown[]) => cat.db.prepare(sql).all(...args) as Row[];
  return all('SELECT * FROM mappers ORDER BY build_id, prompt_set, id').map((m): SiteMapper => {
    const buildId = String(m.build_id);
    const slug = checkSegment(String(m.slug), `mapper slug (build ${buildId})`);
    if (!buildIds.has(buildId)) fail('E_STORE', `catalogue: mapper ${slug} names build ${JSON.stringify(buildId)}, which is not in the builds table`);
    const what = `mapper ${buildId}/${slug}`;
    const files = parse<Record<string, string>>(m.files, `files of ${what}`);
    const gallery: SiteMapper['gallery'] = [];
    for (const g of all('SELECT * FROM mapper_gallery_items WHERE mapper_id = ? ORDER BY row, col', m.id)) {
      (gallery[Number(g.row)] ??= [])[Number(g.col)] = {
        sampleSeed: Number(g.sample_seed), strength: Number(g.strength), path: checkAsset(dir, g.path, `${what} gallery`), width: Number(g.width), height: Number(g.height),
      };
    }
    return {
      buildId, slug, promptSet: String(m.prompt_set), neutral: String(m.neutral), target: String(m.target),
      tags: parse<unknown[]>(m.tags, `tags of ${what}`).map(String), note: m.note == null ? null : String(m.note),
      settings: parse(m.settings, `settings of ${what}`), steps: Number(m.steps), groups: parse(m.groups, `groups of ${what}`), parameters: Number(m.parameters),
      heldOut: parse(m.held_out, `held_out of ${what}`), lossCurve: parse(m.loss_curve, `loss_curve of ${what}`),
      galleryStrengths: parse(m.gallery_strengths, `gallery_strengths of ${what}`), scoreCurve: parse(m.score_curve, `score_curve of ${what}`),
      pixelCurve: parse(m.pixel_curve, `pixel_curve of ${what}`), stepNorms: parse(m.step_norms, `step_norms of ${what}`), trainSeconds: Number(m.train_seconds),
      files: { safetensors: checkAsset(dir, files.safetensors, `${what} .safetensors`), onnx: checkAsset(dir, files.onnx, `${what} .onnx`) },
      gallery,
    };
  });
}

/** A prompt of a build made by the global direction and the mapper (and method 1 when the catalogue ran it), joined by (build, slug). */
export interface SiteComparison {
  buildId: string;
  slug: string;
  methods: ('direction' | 'mapper' | 'method1')[];
}

export function siteComparisons(directions: readonly { buildId: string; slug: string; method1?: unknown }[], mappers: readonly { buildId: string; slug: string }[]): SiteComparison[] {
  const key = (x: { buildId: string; slug: string }) => `${x.buildId}/${x.slug}`;
  const withMapper = new Set(mappers.map(key));
  return directions
    .filter((d) => withMapper.has(key(d)))
    .map((d) => ({ buildId: d.buildId, slug: d.slug, methods: d.method1 ? ['direction', 'mapper', 'method1'] : ['direction', 'mapper'] }));
}
