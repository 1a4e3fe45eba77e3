/**
 * `catalogue.sqlite`: models, builds, layers, channels, directions (with their β and α curves),
 * active channels and gallery items, plus FTS5 search over prompts. The site reads it at build
 * time; the catalogue stage writes it incrementally.
 */
import Database from 'better-sqlite3';
import { fail } from '../core/errors.ts';
import { CATALOGUE_SCHEMA_VERSION, type ChannelRow, type DirectionRecord, type LatentOptimisationRecord, type LayerRow, type MapperRecord, CATALOGUE_TABLES } from './catalogue-schema.ts';

export class CatalogueDb {
  readonly db: Database.Database;

  constructor(readonly path: string, opts: { readonly?: boolean } = {}) {
    try {
      this.db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
      if (!opts.readonly) {
        this.db.pragma('journal_mode = DELETE');
        this.db.pragma('foreign_keys = ON');
        this.db.exec(CATALOGUE_TABLES);
        this.db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)").run(String(CATALOGUE_SCHEMA_VERSION));
      }
      const v = (this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined)?.value;
      if (v !== String(CATALOGUE_SCHEMA_VERSION)) fail('E_STORE', `${path} has catalogue schema ${v ?? 'none'}, this tool writes ${CATALOGUE_SCHEMA_VERSION}`, 'build the catalogue into a new file');
    } catch (e) {
      if ((e as { code?: string }).code === 'E_STORE') throw e;
      fail('E_STORE', `cannot open catalogue ${path}: ${(e as Error).message}`);
    }
  }

  close(): void {
    this.db.close();
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  putModel(m: { id: string; manifestSha256: string; kind: string; description: string; origin: unknown; architecture: unknown; manifest: unknown; liveAssets: Record<string, string> }): void {
    this.db
      .prepare('INSERT OR REPLACE INTO models (id, manifest_sha256, kind, description, origin, architecture, manifest, live_assets) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(m.id, m.manifestSha256, m.kind, m.description, JSON.stringify(m.origin), JSON.stringify(m.architecture), JSON.stringify(m.manifest), JSON.stringify(m.liveAssets));
  }

  putPromptSet(p: { id: string; title: string; description: string; sha256: string }): void {
    this.db.prepare('INSERT OR REPLACE INTO prompt_sets (id, title, description, sha256) VALUES (?, ?, ?, ?)').run(p.id, p.title, p.description, p.sha256);
  }

  buildSha(buildId: string): string | undefined {
    return (this.db.prepare('SELECT relevance_sha256 FROM builds WHERE id = ?').get(buildId) as { relevance_sha256: string } | undefined)?.relevance_sha256;
  }

  /** Replace a build with its layer table and channel rows (one transaction). */
  putBuild(b: {
    id: string;
    generator: { id: string; sha256: string };
    encoder: { id: string; sha256: string };
    config: unknown;
    provenance: unknown;
    timings: unknown;
    channelSet: string;
    dim: number;
    relevanceSha256: string;
    files: Record<string, string>;
    samplesFile: string;
    layers: readonly LayerRow[];
    channels: readonly ChannelRow[];
  }): void {
    this.transaction(() => {
      this.db
        .prepare(
          `INSERT OR REPLACE INTO builds (id, generator_id, generator_sha256, encoder_id, encoder_sha256, config, provenance, timings,
             channel_set, channels, dim, relevance_sha256, files, samples_file, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          b.id, b.generator.id, b.generator.sha256, b.encoder.id, b.encoder.sha256, JSON.stringify(b.config), JSON.stringify(b.provenance),
          JSON.stringify(b.timings), b.channelSet, b.channels.length, b.dim, b.relevanceSha256, JSON.stringify(b.files), b.samplesFile, new Date().toISOString(),
        );
      this.db.prepare('DELETE FROM layers WHERE build_id = ?').run(b.id);
      this.db.prepare('DELETE FROM channels WHERE build_id = ?').run(b.id);
      const li = this.db.prepare('INSERT INTO layers (build_id, layer_index, name, kind, resolution, channels, w_index, offset) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      b.layers.forEach((l, i) => li.run(b.id, i, l.name, l.kind, l.resolution, l.channels, l.wIndex, l.offset));
      const ci = this.db.prepare('INSERT INTO channels (build_id, channel, layer_index, channel_in_layer, mu, sigma, effect, consistency, degenerate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
      const measured = (v: number | null) => (v === null || Number.isNaN(v) ? null : v);
      for (const c of b.channels) ci.run(b.id, c.channel, c.layerIndex, c.channelInLayer, c.mu, c.sigma, measured(c.effect), measured(c.consistency), c.degenerate);
    });
  }

  directionInputs(buildId: string, slug: string): { id: number; inputsSha256: string } | undefined {
    const row = this.db.prepare('SELECT id, inputs_sha256 FROM directions WHERE build_id = ? AND slug = ?').get(buildId, slug) as { id: number; inputs_sha256: string } | undefined;
    return row && { id: row.id, inputsSha256: row.inputs_sha256 };
  }

  /** Replace a direction (and its channels and gallery) in one transaction. */
  putDirection(d: DirectionRecord): number {
    return this.transaction(() => {
      this.db.prepare('DELETE FROM directions WHERE build_id = ? AND slug = ?').run(d.buildId, d.slug);
      const info = this.db
        .prepare(
          `INSERT INTO directions (build_id, slug, prompt_set, neutral, target, tags, note, beta, beta_mode, beta_floor,
             alpha_default, alpha_min, alpha_max, active_channels, max_abs_r, delta_t, delta_t_norm, delta_t_cosine,
             beta_curve, gallery_alphas, score_curve, pixel_curve, files, inputs_sha256, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          d.buildId, d.slug, d.promptSet, d.neutral, d.target, JSON.stringify(d.tags), d.note ?? null, d.beta, d.betaMode, d.betaFloor,
          d.alphaDefault, d.alphaRange[0], d.alphaRange[1], d.activeChannels, d.maxAbsR,
          Buffer.from(d.deltaT.buffer, d.deltaT.byteOffset, d.deltaT.byteLength), d.deltaTNorm, d.deltaTCosine,
          JSON.stringify(d.betaCurve), JSON.stringify(d.galleryAlphas), JSON.stringify(d.scoreCurve), JSON.stringify(d.pixelCurve),
          JSON.stringify(d.files), d.inputsSha256, new Date().toISOString(),
        );
      const id = Number(info.lastInsertRowid);
      const ch = this.db.prepare('INSERT INTO direction_channels (direction_id, channel, layer_index, channel_in_layer, r, delta_s) VALUES (?, ?, ?, ?, ?, ?)');
      for (const c of d.channels) ch.run(id, c.channel, c.layerIndex, c.channelInLayer, c.r, c.deltaS);
      const gi = this.db.prepare('INSERT INTO gallery_items (direction_id, sample_seed, alpha, row, col, path, width, height) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      for (const g of d.gallery) gi.run(id, g.sampleSeed, g.alpha, g.row, g.col, g.path, g.width, g.height);
      return id;
    });
  }

  /** Remove directions (and their method-1 results) of a build whose slugs are no longer in its prompt sets. */
  pruneDirections(buildId: string, promptSet: string, keep: ReadonlySet<string>): number {
    return this.prune('directions', buildId, promptSet, keep);
  }

  mapperInputs(buildId: string, slug: string): { id: number; inputsSha256: string } | undefined {
    const row = this.db.prepare('SELECT id, inputs_sha256 FROM mappers WHERE build_id = ? AND slug = ?').get(buildId, slug) as { id: number; inputs_sha256: string } | undefined;
    return row && { id: row.id, inputsSha256: row.inputs_sha256 };
  }

  /** Replace a mapper (and its gallery) in one transaction. */
  putMapper(m: MapperRecord): number {
    return this.transaction(() => {
      this.db.prepare('DELETE FROM mappers WHERE build_id = ? AND slug = ?').run(m.buildId, m.slug);
      const j = JSON.stringify;
      const info = this.db
        .prepare(
          `INSERT INTO mappers (build_id, slug, prompt_set, neutral, target, tags, note, settings, steps, groups, parameters, held_out,
             loss_curve, gallery_strengths, score_curve, pixel_curve, step_norms, train_seconds, files, inputs_sha256, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          m.buildId, m.slug, m.promptSet, m.neutral, m.target, j(m.tags), m.note ?? null, j(m.settings), m.steps, j(m.groups), m.parameters, j(m.heldOut),
          j(m.lossCurve), j(m.galleryStrengths), j(m.scoreCurve), j(m.pixelCurve), j(m.stepNorms), m.trainSeconds, j(m.files), m.inputsSha256, new Date().toISOString(),
        );
      const id = Number(info.lastInsertRowid);
      const gi = this.db.prepare('INSERT INTO mapper_gallery_items (mapper_id, sample_seed, strength, row, col, path, width, height) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
      for (const g of m.gallery) gi.run(id, g.sampleSeed, g.strength, g.row, g.col, g.path, g.width, g.height);
      return id;
    });
  }

  slugs(table: 'directions' | 'mappers', buildId: string, promptSet: string): string[] {
    return (this.db.prepare(`SELECT slug FROM ${table} WHERE build_id = ? AND prompt_set = ?`).all(buildId, promptSet) as { slug: string }[]).map((r) => r.slug);
  }

  /** Remove a build's directions or mappers whose slugs a prompt set no longer asks for. */
  prune(table: 'directions' | 'mappers', buildId: string, promptSet: string, keep: ReadonlySet<string>): number {
    const del = this.db.prepare(`DELETE FROM ${table} WHERE build_id = ? AND slug = ?`);
    let n = 0;
    this.transaction(() => {
      for (const slug of this.slugs(table, buildId, promptSet)) {
        if (keep.has(slug)) continue;
        n += del.run(buildId, slug).changes;
        if (table === 'directions') this.deleteLatentOptimisation(buildId, slug);
      }
    });
    return n;
  }

  latentOptimisationInputs(buildId: string, slug: string): string | undefined {
    return (this.db.prepare('SELECT inputs_sha256 FROM latent_optimisations WHERE build_id = ? AND slug = ?').get(buildId, slug) as { inputs_sha256: string } | undefined)?.inputs_sha256;
  }

  deleteLatentOptimisation(buildId: string, slug: string): number {
    return this.db.prepare('DELETE FROM latent_optimisations WHERE build_id = ? AND slug = ?').run(buildId, slug).changes;
  }

  /** Replace one prompt's method-1 result and its items (one transaction). */
  putLatentOptimisation(r: LatentOptimisationRecord): void {
    this.transaction(() => {
      this.deleteLatentOptimisation(r.buildId, r.slug);
      this.db
        .prepare(
          `INSERT INTO latent_optimisations (build_id, slug, prompt_set, target, settings, seconds, seconds_per_step, direction_seconds,
             score_before, score_after, loss_curve, codes_file, inputs_sha256, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(r.buildId, r.slug, r.promptSet, r.target, JSON.stringify(r.settings), r.seconds, r.secondsPerStep, r.directionSeconds,
          r.scoreBefore, r.scoreAfter, JSON.stringify(r.lossCurve), r.codesFile, r.inputsSha256, new Date().toISOString());
      const item = this.db.prepare(
        `INSERT INTO latent_optimisation_items (build_id, slug, row, sample_seed, before_path, after_path, width, height, score_before, score_after, clip_loss, l2)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const i of r.items) item.run(r.buildId, r.slug, i.row, i.sampleSeed, i.beforePath, i.afterPath, i.width, i.height, i.scoreBefore, i.scoreAfter, i.clipLoss, i.l2);
    });
  }

  /** Search as people type: every word is a prefix ("smil" finds "smiling"); FTS syntax is escaped. */
  searchPrompts(text: string): { id: number; slug: string; buildId: string }[] {
    const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
    if (words.length === 0) return [];
    return this.search(words.map((w) => `"${w}"*`).join(' '));
  }

  search(query: string): { id: number; slug: string; buildId: string }[] {
    return this.db
      .prepare('SELECT d.id, d.slug, d.build_id AS buildId FROM direction_search s JOIN directions d ON d.id = s.rowid WHERE direction_search MATCH ? ORDER BY rank')
      .all(query) as { id: number; slug: string; buildId: string }[];
  }

  integrityCheck(): string {
    return (this.db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check;
  }
}
