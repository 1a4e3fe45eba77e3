/**
 * The catalogue as the site sees it: everything in `catalogue.sqlite` read once at site-build time
 * (better-sqlite3, read-only) into plain objects, and checked so that nothing the database holds
 * can escape the site: build ids and slugs become URL paths only when they match SAFE_SEGMENT,
 * and every asset path must be a plain relative path under assets/ that exists.
 */
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../core/errors.ts';
import { CatalogueDb } from '../store/catalogue-db.ts';
import type { ChannelRow, DirectionRow, LatentOptimisationRow, LayerRow } from '../store/catalogue-schema.ts';
import { type SiteComparison, type SiteMapper, readSiteMappers, siteComparisons } from './catalogue-mappers.ts';

/** What may become one segment of a site path (the prompt files' slug rule). */
export const SAFE_SEGMENT = /^[a-z0-9-]+$/;
/** assets/… with plain names only: no "..", no absolute paths, no backslashes, no query strings. */
const SAFE_ASSET = /^assets(?:\/[A-Za-z0-9_][A-Za-z0-9_.-]*)+$/;

export interface SiteModel {
  id: string;
  kind: string;
  manifestSha256: string;
  description: string;
  origin: { type?: string; note?: string; seed?: number; [k: string]: unknown };
  architecture: Record<string, unknown>;
  /** Browser-sized model files (synthesis, text, tokenizer), relative to the catalogue. */
  liveAssets: Record<string, string>;
}

export interface SiteLayer extends LayerRow {
  index: number;
}

export interface SiteBuild {
  id: string;
  generator: SiteModel;
  encoder: SiteModel;
  config: Record<string, unknown>;
  provenance: Record<string, unknown>;
  timings: { stage: string; seconds: number; renders: number; detail: string }[];
  channelSet: string;
  /** Channels in the build's channel set (rows of relevance.arrow). */
  channelCount: number;
  dim: number;
  relevanceSha256: string;
  files: { relevance: string; fs3: string };
  samplesFile: string;
  /** W+ codes [K, num_ws, w_dim] of the gallery samples (the live mapper edits them). */
  samplesWsFile: string;
  layers: SiteLayer[];
  channels: ChannelRow[];
  updatedAt: string;
}

/** Method 1 on a direction's gallery samples (present when the catalogue ran it: `catalogue --method1`). */
export interface SiteMethod1 extends LatentOptimisationRow {
  codesFile: string;
}

export interface SiteDirection extends DirectionRow {
  files: { safetensors: string; npz: string; json: string };
  /** gallery[row][col]: sample row × α column. */
  gallery: { sampleSeed: number; alpha: number; path: string; width: number; height: number }[][];
  method1?: SiteMethod1;
}

export interface SitePromptSet {
  id: string;
  title: string;
  description: string;
}

export interface SiteCatalogue {
  dir: string;
  builds: SiteBuild[];
  directions: SiteDirection[];
  mappers: SiteMapper[];
  comparisons: SiteComparison[];
  promptSets: SitePromptSet[];
}

export function checkSegment(value: string, what: string): string {
  if (!SAFE_SEGMENT.test(value)) {
    fail('E_INPUT', `catalogue: ${what} ${JSON.stringify(value)} cannot become a site path (only a-z, 0-9 and "-")`, 'rename it in the prompt file or build folder and rebuild the catalogue');
  }
  return value;
}

/** A relative asset path that stays inside the catalogue folder and names a regular file. */
export function checkAsset(dir: string, path: unknown, what: string): string {
  if (typeof path !== 'string' || !SAFE_ASSET.test(path) || path.split('/').some((s) => s === '.' || s === '..')) {
    fail('E_INPUT', `catalogue: ${what} has an unsafe asset path ${JSON.stringify(path)}`, 'asset paths must be relative paths under assets/');
  }
  const abs = join(dir, path);
  // lstat: a symlink could point anywhere on the building machine, and the site copies what it names.
  if (!existsSync(abs) || !lstatSync(abs).isFile()) fail('E_MISSING', `catalogue: ${what}: ${path} is missing from ${dir}`, 'rebuild the catalogue');
  return path;
}

/** A JSON column's value (E_STORE naming the column when it is not JSON). */
export const json = <T>(text: string, what: string): T => {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    return fail('E_STORE', `catalogue: ${what} is not JSON (${(e as Error).message})`);
  }
};

type Row = Record<string, unknown>;

export function readSiteCatalogue(dir: string): SiteCatalogue {
  const path = join(dir, 'catalogue.sqlite');
  if (!existsSync(path)) fail('E_MISSING', `${dir} has no catalogue.sqlite`, 'build one with `styleatlas catalogue --build DIR --prompts FILE --out DIR`');
  const cat = new CatalogueDb(path, { readonly: true });
  try {
    const all = (sql: string, ...args: unknown[]) => cat.db.prepare(sql).all(...args) as Row[];
    const models = new Map<string, SiteModel>();
    for (const m of all('SELECT * FROM models')) {
      const id = String(m.id);
      const liveAssets = json<Record<string, string>>(String(m.live_assets), `live_assets of ${id}`);
      for (const [k, p] of Object.entries(liveAssets)) checkAsset(dir, p, `model ${id} live asset ${k}`);
      models.set(`${id}@${m.manifest_sha256}`, {
        id, kind: String(m.kind), manifestSha256: String(m.manifest_sha256), description: String(m.description),
        origin: json(String(m.origin), `origin of ${id}`), architecture: json(String(m.architecture), `architecture of ${id}`), liveAssets,
      });
    }
    const model = (id: unknown, sha: unknown, what: string): SiteModel =>
      models.get(`${id}@${sha}`) ?? fail('E_STORE', `catalogue: ${what} ${String(id)} (${String(sha).slice(0, 12)}…) is not in the models table`);

    const builds = all('SELECT * FROM builds ORDER BY id').map((b): SiteBuild => {
      const id = checkSegment(String(b.id), 'build id');
      const files = json<Record<string, string>>(String(b.files), `files of build ${id}`);
      return {
        id,
        generator: model(b.generator_id, b.generator_sha256, `generator of build ${id}`),
        encoder: model(b.encoder_id, b.encoder_sha256, `encoder of build ${id}`),
        config: json(String(b.config), `config of build ${id}`),
        provenance: json(String(b.provenance), `provenance of build ${id}`),
        timings: json(String(b.timings), `timings of build ${id}`),
        channelSet: String(b.channel_set),
        channelCount: Number(b.channels),
        dim: Number(b.dim),
        relevanceSha256: String(b.relevance_sha256),
        files: { relevance: checkAsset(dir, files.relevance, `build ${id} relevance`), fs3: checkAsset(dir, files.fs3, `build ${id} fs3`) },
        samplesFile: checkAsset(dir, b.samples_file, `build ${id} samples`),
        samplesWsFile: checkAsset(dir, files.samplesWs, `build ${id} W+ samples`),
        layers: all('SELECT * FROM layers WHERE build_id = ? ORDER BY layer_index', id).map((l) => ({
          index: Number(l.layer_index), name: String(l.name), kind: String(l.kind), resolution: Number(l.resolution),
          channels: Number(l.channels), wIndex: Number(l.w_index), offset: Number(l.offset),
        })),
        channels: all('SELECT * FROM channels WHERE build_id = ? ORDER BY channel', id).map((c) => ({
          channel: Number(c.channel), layerIndex: Number(c.layer_index), channelInLayer: Number(c.channel_in_layer), mu: Number(c.mu),
          sigma: Number(c.sigma), effect: c.effect === null ? null : Number(c.effect), consistency: c.consistency === null ? null : Number(c.consistency), degenerate: Number(c.degenerate),
        })),
        updatedAt: String(b.updated_at),
      };
    });
    const buildIds = new Set(builds.map((b) => b.id));

    const directions = all('SELECT * FROM directions ORDER BY build_id, prompt_set, id').map((d): SiteDirection => {
      const buildId = String(d.build_id);
      const slug = checkSegment(String(d.slug), `direction slug (build ${buildId})`);
      if (!buildIds.has(buildId)) fail('E_STORE', `catalogue: direction ${slug} names build ${JSON.stringify(buildId)}, which is not in the builds table`);
      const what = `direction ${buildId}/${slug}`;
      const files = json<Record<string, string>>(String(d.files), `files of ${what}`);
      const gallery: SiteDirection['gallery'] = [];
      for (const g of all('SELECT * FROM gallery_items WHERE direction_id = ? ORDER BY row, col', d.id)) {
        (gallery[Number(g.row)] ??= [])[Number(g.col)] = {
          sampleSeed: Number(g.sample_seed), alpha: Number(g.alpha), path: checkAsset(dir, g.path, `${what} gallery`), width: Number(g.width), height: Number(g.height),
        };
      }
      return {
        buildId, slug, promptSet: String(d.prompt_set), neutral: String(d.neutral), target: String(d.target),
        tags: json<string[]>(String(d.tags), `tags of ${what}`).map(String), note: d.note == null ? null : String(d.note),
        beta: Number(d.beta), betaMode: d.beta_mode === 'auto' ? 'auto' : 'fixed', betaFloor: Number(d.beta_floor), alphaDefault: Number(d.alpha_default),
        alphaRange: [Number(d.alpha_min), Number(d.alpha_max)], activeChannels: Number(d.active_channels), maxAbsR: Number(d.max_abs_r),
        deltaTNorm: Number(d.delta_t_norm), deltaTCosine: Number(d.delta_t_cosine),
        betaCurve: json(String(d.beta_curve), `beta_curve of ${what}`), galleryAlphas: json(String(d.gallery_alphas), `gallery_alphas of ${what}`),
        scoreCurve: json(String(d.score_curve), `score_curve of ${what}`), pixelCurve: json(String(d.pixel_curve), `pixel_curve of ${what}`),
        files: {
          safetensors: checkAsset(dir, files.safetensors, `${what} .safetensors`),
          npz: checkAsset(dir, files.npz, `${what} .npz`),
          json: checkAsset(dir, files.json, `${what} .json`),
        },
        channels: all('SELECT * FROM direction_channels WHERE direction_id = ? ORDER BY abs(delta_s) DESC, channel', d.id).map((c) => ({
          channel: Number(c.channel), layerIndex: Number(c.layer_index), channelInLayer: Number(c.channel_in_layer), r: Number(c.r), deltaS: Number(c.delta_s),
        })),
        gallery,
      };
    });
    const method1 = readMethod1(dir, all);
    for (const d of directions) d.method1 = method1.get(`${d.buildId}/${d.slug}`);
    const promptSets = all('SELECT id, title, description FROM prompt_sets ORDER BY id').map((p) => ({ id: String(p.id), title: String(p.title), description: String(p.description) }));
    const mappers = readSiteMappers(cat, dir, buildIds);
    return { dir, builds, directions, mappers, comparisons: siteComparisons(directions, mappers), promptSets };
  } finally {
    cat.close();
  }
}

/** The latent_optimisations rows by `build/slug` (none in catalogues written before method 1 existed). */
function readMethod1(dir: string, all: (sql: string, ...args: unknown[]) => Row[]): Map<string, SiteMethod1> {
  const out = new Map<string, SiteMethod1>();
  if (all("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'latent_optimisations'").length === 0) return out;
  for (const r of all('SELECT * FROM latent_optimisations ORDER BY build_id, slug')) {
    const buildId = String(r.build_id);
    const slug = String(r.slug);
    const what = `method 1 of ${buildId}/${slug}`;
    const items = all('SELECT * FROM latent_optimisation_items WHERE build_id = ? AND slug = ? ORDER BY row', buildId, slug).map((i) => ({
      row: Number(i.row), sampleSeed: Number(i.sample_seed), width: Number(i.width), height: Number(i.height),
      beforePath: checkAsset(dir, i.before_path, `${what} start image`), afterPath: checkAsset(dir, i.after_path, `${what} result`),
      scoreBefore: Number(i.score_before), scoreAfter: Number(i.score_after), clipLoss: Number(i.clip_loss), l2: Number(i.l2),
    }));
    out.set(`${buildId}/${slug}`, {
      buildId, slug, promptSet: String(r.prompt_set), target: String(r.target), settings: json(String(r.settings), `settings of ${what}`),
      seconds: Number(r.seconds), secondsPerStep: Number(r.seconds_per_step), directionSeconds: Number(r.direction_seconds),
      scoreBefore: Number(r.score_before), scoreAfter: Number(r.score_after), lossCurve: json(String(r.loss_curve), `loss curve of ${what}`),
      codesFile: checkAsset(dir, r.codes_file, `${what} codes`), items,
    });
  }
  return out;
}
