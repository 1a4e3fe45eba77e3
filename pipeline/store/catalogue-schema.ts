/**
 * The tables of `catalogue.sqlite` and the row types the catalogue stage writes and the site
 * reads (one definition each): models, builds, layers, channels, prompt sets, directions with
 * their channels and gallery items, the FTS5 index over prompts, and the results of the other
 * StyleCLIP methods on the same prompts and samples, in tables of their own keyed by
 * (build, slug) so a comparison joins them: latent_optimisations (method 1) and its items, mappers
 * (method 2) and their gallery items.
 */
import type { ActiveChannel } from '../core/directions.ts';

/**
 * 2: channels.effect / consistency may be NULL (not measured: a build imported from an fs3.npy).
 * 3: the other methods' tables, keyed by (build, prompt slug): latent_optimisations (method 1) and
 *    mappers (method 2), with their items.
 */
export const CATALOGUE_SCHEMA_VERSION = 3;

export const CATALOGUE_TABLES = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models (
  id TEXT NOT NULL, manifest_sha256 TEXT NOT NULL, kind TEXT NOT NULL, description TEXT NOT NULL,
  origin TEXT NOT NULL, architecture TEXT NOT NULL, manifest TEXT NOT NULL,
  live_assets TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (id, manifest_sha256));
CREATE TABLE IF NOT EXISTS builds (
  id TEXT PRIMARY KEY, generator_id TEXT NOT NULL, generator_sha256 TEXT NOT NULL,
  encoder_id TEXT NOT NULL, encoder_sha256 TEXT NOT NULL, config TEXT NOT NULL, provenance TEXT NOT NULL,
  timings TEXT NOT NULL, channel_set TEXT NOT NULL, channels INTEGER NOT NULL, dim INTEGER NOT NULL,
  relevance_sha256 TEXT NOT NULL, files TEXT NOT NULL, samples_file TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS layers (
  build_id TEXT NOT NULL, layer_index INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
  resolution INTEGER NOT NULL, channels INTEGER NOT NULL, w_index INTEGER NOT NULL, offset INTEGER NOT NULL,
  PRIMARY KEY (build_id, layer_index));
CREATE TABLE IF NOT EXISTS channels (
  build_id TEXT NOT NULL, channel INTEGER NOT NULL, layer_index INTEGER NOT NULL, channel_in_layer INTEGER NOT NULL,
  mu REAL NOT NULL, sigma REAL NOT NULL, effect REAL, consistency REAL, degenerate INTEGER NOT NULL,
  PRIMARY KEY (build_id, channel));
CREATE TABLE IF NOT EXISTS prompt_sets (id TEXT PRIMARY KEY, title TEXT NOT NULL, description TEXT NOT NULL, sha256 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS directions (
  id INTEGER PRIMARY KEY, build_id TEXT NOT NULL, slug TEXT NOT NULL, prompt_set TEXT NOT NULL,
  neutral TEXT NOT NULL, target TEXT NOT NULL, tags TEXT NOT NULL, note TEXT,
  beta REAL NOT NULL, beta_mode TEXT NOT NULL, beta_floor INTEGER NOT NULL,
  alpha_default REAL NOT NULL, alpha_min REAL NOT NULL, alpha_max REAL NOT NULL,
  active_channels INTEGER NOT NULL, max_abs_r REAL NOT NULL,
  delta_t BLOB NOT NULL, delta_t_norm REAL NOT NULL, delta_t_cosine REAL NOT NULL,
  beta_curve TEXT NOT NULL, gallery_alphas TEXT NOT NULL, score_curve TEXT NOT NULL, pixel_curve TEXT NOT NULL,
  files TEXT NOT NULL, inputs_sha256 TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (build_id, slug));
CREATE TABLE IF NOT EXISTS direction_channels (
  direction_id INTEGER NOT NULL REFERENCES directions(id) ON DELETE CASCADE, channel INTEGER NOT NULL,
  layer_index INTEGER NOT NULL, channel_in_layer INTEGER NOT NULL, r REAL NOT NULL, delta_s REAL NOT NULL,
  PRIMARY KEY (direction_id, channel));
CREATE TABLE IF NOT EXISTS gallery_items (
  direction_id INTEGER NOT NULL REFERENCES directions(id) ON DELETE CASCADE, sample_seed INTEGER NOT NULL,
  alpha REAL NOT NULL, row INTEGER NOT NULL, col INTEGER NOT NULL, path TEXT NOT NULL,
  width INTEGER NOT NULL, height INTEGER NOT NULL, PRIMARY KEY (direction_id, row, col));
CREATE TABLE IF NOT EXISTS latent_optimisations (
  build_id TEXT NOT NULL, slug TEXT NOT NULL, prompt_set TEXT NOT NULL, target TEXT NOT NULL,
  settings TEXT NOT NULL, seconds REAL NOT NULL, seconds_per_step REAL NOT NULL, direction_seconds REAL NOT NULL,
  score_before REAL NOT NULL, score_after REAL NOT NULL, loss_curve TEXT NOT NULL, codes_file TEXT NOT NULL,
  inputs_sha256 TEXT NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (build_id, slug));
CREATE TABLE IF NOT EXISTS latent_optimisation_items (
  build_id TEXT NOT NULL, slug TEXT NOT NULL, row INTEGER NOT NULL, sample_seed INTEGER NOT NULL,
  before_path TEXT NOT NULL, after_path TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
  score_before REAL NOT NULL, score_after REAL NOT NULL, clip_loss REAL NOT NULL, l2 REAL NOT NULL,
  PRIMARY KEY (build_id, slug, row),
  FOREIGN KEY (build_id, slug) REFERENCES latent_optimisations(build_id, slug) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS mappers (
  id INTEGER PRIMARY KEY, build_id TEXT NOT NULL, slug TEXT NOT NULL, prompt_set TEXT NOT NULL,
  neutral TEXT NOT NULL, target TEXT NOT NULL, tags TEXT NOT NULL, note TEXT,
  settings TEXT NOT NULL, steps INTEGER NOT NULL, groups TEXT NOT NULL, parameters INTEGER NOT NULL,
  held_out TEXT NOT NULL, loss_curve TEXT NOT NULL, gallery_strengths TEXT NOT NULL,
  score_curve TEXT NOT NULL, pixel_curve TEXT NOT NULL, step_norms TEXT NOT NULL, train_seconds REAL NOT NULL,
  files TEXT NOT NULL, inputs_sha256 TEXT NOT NULL, updated_at TEXT NOT NULL,
  UNIQUE (build_id, slug));
CREATE TABLE IF NOT EXISTS mapper_gallery_items (
  mapper_id INTEGER NOT NULL REFERENCES mappers(id) ON DELETE CASCADE, sample_seed INTEGER NOT NULL,
  strength REAL NOT NULL, row INTEGER NOT NULL, col INTEGER NOT NULL, path TEXT NOT NULL,
  width INTEGER NOT NULL, height INTEGER NOT NULL, PRIMARY KEY (mapper_id, row, col));
CREATE VIRTUAL TABLE IF NOT EXISTS direction_search USING fts5(
  slug, neutral, target, tags, content='directions', content_rowid='id', tokenize='unicode61');
CREATE TRIGGER IF NOT EXISTS directions_ai AFTER INSERT ON directions BEGIN
  INSERT INTO direction_search(rowid, slug, neutral, target, tags) VALUES (new.id, new.slug, new.neutral, new.target, new.tags);
END;
CREATE TRIGGER IF NOT EXISTS directions_ad AFTER DELETE ON directions BEGIN
  INSERT INTO direction_search(direction_search, rowid, slug, neutral, target, tags) VALUES ('delete', old.id, old.slug, old.neutral, old.target, old.tags);
END;
CREATE TRIGGER IF NOT EXISTS directions_au AFTER UPDATE ON directions BEGIN
  INSERT INTO direction_search(direction_search, rowid, slug, neutral, target, tags) VALUES ('delete', old.id, old.slug, old.neutral, old.target, old.tags);
  INSERT INTO direction_search(rowid, slug, neutral, target, tags) VALUES (new.id, new.slug, new.neutral, new.target, new.tags);
END;
`;

export type BetaCurve = { beta: number; active: number }[];
/** Mean cos(image, t(target)) along the gallery's α row. */
export type ScoreCurve = { alpha: number; score: number }[];
/** Mean pixel statistics along the α row, measured in [0, 1]. */
export type PixelCurve = { alpha: number; red: number; green: number; blue: number; brightness: number; saturation: number }[];
/** One gallery tile: sample row × α column. */
export interface GalleryItem {
  sampleSeed: number;
  alpha: number;
  row: number;
  col: number;
  path: string;
  width: number;
  height: number;
}
/** A style layer of a build (the layers table). */
export interface LayerRow {
  name: string;
  kind: string;
  resolution: number;
  channels: number;
  wIndex: number;
  offset: number;
}

/** A channel of a build's channel set with its statistics and relevance facts (the channels table). */
export interface ChannelRow {
  channel: number;
  layerIndex: number;
  channelInLayer: number;
  mu: number;
  sigma: number;
  /** null (NaN when written): not measured — a build imported from an fs3.npy has directions only. */
  effect: number | null;
  consistency: number | null;
  degenerate: number;
}

/** A catalogue direction as the directions table holds it; the writer and the site each add their own view of files and gallery. */
export interface DirectionRow {
  buildId: string;
  slug: string;
  promptSet: string;
  neutral: string;
  target: string;
  tags: string[];
  note: string | null;
  beta: number;
  betaMode: 'auto' | 'fixed';
  betaFloor: number;
  alphaDefault: number;
  alphaRange: [number, number];
  activeChannels: number;
  maxAbsR: number;
  deltaTNorm: number;
  deltaTCosine: number;
  betaCurve: BetaCurve;
  galleryAlphas: number[];
  scoreCurve: ScoreCurve;
  pixelCurve: PixelCurve;
  /** Active channels, largest |Δs| first. */
  channels: ActiveChannel[];
}

/** What the catalogue stage writes for a direction. */
export interface DirectionRecord extends DirectionRow {
  deltaT: Float32Array;
  files: Record<string, string>;
  inputsSha256: string;
  gallery: GalleryItem[];
}

/** Method 1 (latent optimisation) on one prompt's gallery samples: what the comparison with method 3 shows. */
export interface LatentOptimisationRow {
  buildId: string;
  slug: string;
  promptSet: string;
  target: string;
  settings: { steps: number; lr: number; lambdaL2: number; lambdaId: number; identity: string | null; batch: number };
  /** Wall seconds of the optimisation of all samples, and the median seconds per step (batch of all samples). */
  seconds: number;
  secondsPerStep: number;
  /** Seconds method 3 took for the same prompt on this build: t(neutral), t(target), Δt and Δs (the relevance build excluded). */
  directionSeconds: number;
  /** Mean cos(E_I(image), t(target)) over the samples: the start codes, and the optimised ones (the score of the galleries). */
  scoreBefore: number;
  scoreAfter: number;
  /** Mean objective terms per step (every 10th step and the last). */
  lossCurve: { step: number; loss: number; clip: number; l2: number }[];
  items: LatentOptimisationItem[];
}

export interface LatentOptimisationItem {
  row: number;
  sampleSeed: number;
  beforePath: string;
  afterPath: string;
  width: number;
  height: number;
  scoreBefore: number;
  scoreAfter: number;
  /** D_CLIP and ‖w − w_s‖² at the end. */
  clipLoss: number;
  l2: number;
}

export interface LatentOptimisationRecord extends LatentOptimisationRow {
  codesFile: string;
  inputsSha256: string;
}

/** A mapper's held-out scores (stages/mapper-apply.ts means): CLIP score of E_T(target), ‖w′ − w‖, pixels. */
export interface MapperHeldOut {
  count: number;
  seeds: string;
  scoreBefore: number;
  scoreAfter: number;
  stepNorm: number;
  /** Share of held-out codes whose score rose. */
  improved: number;
  before: Omit<PixelCurve[number], 'alpha'>;
  after: Omit<PixelCurve[number], 'alpha'>;
}

/** A catalogue mapper as the mappers table holds it (the writer and the site add their files and gallery). */
export interface MapperRow {
  buildId: string;
  slug: string;
  promptSet: string;
  neutral: string;
  target: string;
  tags: string[];
  note: string | null;
  /** What the weights were trained with (lr, batch, λ_L2, seed, codes, optimiser). */
  settings: Record<string, unknown>;
  steps: number;
  groups: { name: string; start: number; end: number }[];
  parameters: number;
  heldOut: MapperHeldOut;
  /** Training batch loss, at most 200 points (means over equal spans of steps). */
  lossCurve: { step: number; loss: number; clip: number; l2: number }[];
  galleryStrengths: number[];
  /** Mean cos(image, t(target)) of the gallery samples along the strengths (t over the 79 templates, as directions). */
  scoreCurve: { strength: number; score: number }[];
  pixelCurve: ({ strength: number } & Omit<PixelCurve[number], 'alpha'>)[];
  /** ‖w′ − w‖ of each gallery sample at strength 1. */
  stepNorms: number[];
  trainSeconds: number;
}

export interface MapperRecord extends MapperRow {
  files: Record<string, string>;
  inputsSha256: string;
  gallery: (Omit<GalleryItem, 'alpha'> & { strength: number })[];
}
