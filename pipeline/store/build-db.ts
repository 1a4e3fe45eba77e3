/**
 * A relevance build's progress and provenance, in SQLite (`build.sqlite` in the build folder).
 * Each finished chunk of channels is committed in one transaction, so a build killed at any
 * point resumes from its last committed chunk.
 *
 * A writer works in WAL mode and, when it closes, puts the file back in rollback-journal mode: a
 * finished build is then one file, and the readers (catalogue, edit, merge, the checks of a refused
 * --resume) open it read-only and leave no -wal/-shm files beside it. A file that is not a build
 * database, or is damaged, is E_STORE at open, never an SqliteError later.
 */
import Database from 'better-sqlite3';
import { fail } from '../core/errors.ts';
import type { ExecutionRecord } from '../models/devices.ts';

export interface ChannelResultRow {
  channel: number;
  effect: number;
  consistency: number;
  degenerate: number;
  pairs: number;
  direction: Float32Array;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channel_stats (channel INTEGER PRIMARY KEY, mu REAL NOT NULL, sigma REAL NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
  chunk INTEGER PRIMARY KEY, channels INTEGER NOT NULL, renders INTEGER NOT NULL,
  seconds REAL NOT NULL, finished_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
  channel INTEGER PRIMARY KEY, chunk INTEGER NOT NULL, effect REAL NOT NULL, consistency REAL NOT NULL,
  degenerate INTEGER NOT NULL, pairs INTEGER NOT NULL, direction BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS timings (stage TEXT PRIMARY KEY, seconds REAL NOT NULL, renders INTEGER NOT NULL, detail TEXT);
CREATE TABLE IF NOT EXISTS runs (
  run INTEGER PRIMARY KEY, shard TEXT NOT NULL, provider TEXT NOT NULL, onnxruntime TEXT NOT NULL,
  threads INTEGER NOT NULL, cores INTEGER NOT NULL, cpu TEXT NOT NULL, gpu TEXT, host TEXT NOT NULL,
  pid INTEGER NOT NULL, started_at TEXT NOT NULL, render TEXT);
CREATE TABLE IF NOT EXISTS chunk_runs (chunk INTEGER PRIMARY KEY, run INTEGER NOT NULL REFERENCES runs(run));
`;

/** One process that computed chunks of a build: where and on what it ran. */
export interface RunRecord extends ExecutionRecord {
  run: number;
  /** The render graph its chunks were computed with (models/fused.ts describeRenderGraph); null in builds from before it was recorded. */
  render: string | null;
  /** The shard it computed, as "i/n". */
  shard: string;
  startedAt: string;
}

function blob(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function floats(b: Buffer): Float32Array {
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return new Float32Array(copy.buffer);
}

export class BuildDb {
  readonly db: Database.Database;

  private readonly writable: boolean;

  constructor(readonly path: string, opts: { readonly?: boolean } = {}) {
    this.writable = !(opts.readonly ?? false);
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { readonly: !this.writable, fileMustExist: !this.writable });
      // Reads every page: a truncated or garbled file is refused here, not halfway through a merge.
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(String(check));
      if (this.writable) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        db.exec(SCHEMA);
        // Builds started before the render graph was recorded: add the column, NULL for their runs.
        const cols = db.prepare('PRAGMA table_info(runs)').all() as { name: string }[];
        if (!cols.some((c) => c.name === 'render')) db.exec('ALTER TABLE runs ADD COLUMN render TEXT');
      }
    } catch (e) {
      db?.close();
      fail('E_STORE', `${path} is not a readable build database (${(e as Error).message})`,
        'the file is damaged or is not a build.sqlite: run the build again into a new --out (or merge its shards again)');
    }
    this.db = db;
  }

  /** A writer checkpoints the WAL into the file and leaves it in rollback mode (see above). */
  close(): void {
    if (!this.db.open) return;
    if (this.writable) {
      try {
        this.db.pragma('journal_mode = DELETE');
      } catch {
        // Another connection is reading: the file stays in WAL mode, and SQLite removes the -wal
        // and -shm files when the last connection closes.
      }
    }
    this.db.close();
  }

  /** undefined also where the file has no schema yet: a writer killed between creating the file and its tables. */
  getMeta(key: string): string | undefined {
    if (!this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get()) return undefined;
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  setMeta(entries: Record<string, string>): void {
    const stmt = this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.db.transaction(() => {
      for (const [k, v] of Object.entries(entries)) stmt.run(k, v);
    })();
  }

  allMeta(): Record<string, string> {
    const rows = this.db.prepare('SELECT key, value FROM meta ORDER BY key').all() as { key: string; value: string }[];
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  hasStats(): boolean {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM channel_stats').get() as { n: number }).n > 0;
  }

  saveStats(mu: ArrayLike<number>, sigma: ArrayLike<number>): void {
    const stmt = this.db.prepare('INSERT OR REPLACE INTO channel_stats (channel, mu, sigma) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (let i = 0; i < mu.length; i++) stmt.run(i, mu[i], sigma[i]);
    })();
  }

  loadStats(total: number): { mu: Float64Array; sigma: Float64Array } {
    const rows = this.db.prepare('SELECT channel, mu, sigma FROM channel_stats ORDER BY channel').all() as { channel: number; mu: number; sigma: number }[];
    if (rows.length !== total) fail('E_STORE', `${this.path}: channel statistics hold ${rows.length} channels, the generator has ${total}`);
    return { mu: Float64Array.from(rows, (r) => r.mu), sigma: Float64Array.from(rows, (r) => r.sigma) };
  }

  doneChunks(): Set<number> {
    return new Set((this.db.prepare('SELECT chunk FROM chunks').all() as { chunk: number }[]).map((r) => r.chunk));
  }

  /** A process starts computing chunks: its execution record, whose id its chunks carry. */
  addRun(shard: string, r: ExecutionRecord & { render: string | null }, startedAt = new Date().toISOString()): number {
    const info = this.db
      .prepare('INSERT INTO runs (shard, provider, onnxruntime, threads, cores, cpu, gpu, host, pid, started_at, render) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(shard, r.provider, r.onnxruntime, r.threads, r.cores, r.cpu, r.gpu, r.host, r.pid, startedAt, r.render);
    return Number(info.lastInsertRowid);
  }

  /** Builds from before execution records have no runs tables (read-only opening creates none). */
  private hasTable(name: string): boolean {
    return this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
  }

  runs(): RunRecord[] {
    if (!this.hasTable('runs')) return [];
    const rows = this.db.prepare('SELECT * FROM runs ORDER BY run').all() as Record<string, unknown>[];
    return rows.map((r) => ({
      run: r.run as number, shard: r.shard as string, provider: r.provider as RunRecord['provider'], onnxruntime: r.onnxruntime as string,
      threads: r.threads as number, cores: r.cores as number, cpu: r.cpu as string, gpu: (r.gpu as string | null) ?? null,
      host: r.host as string, pid: r.pid as number, startedAt: r.started_at as string, render: (r.render as string | null) ?? null,
    }));
  }

  /** Which run computed each chunk. */
  chunkRuns(): Map<number, number> {
    if (!this.hasTable('chunk_runs')) return new Map();
    const rows = this.db.prepare('SELECT chunk, run FROM chunk_runs').all() as { chunk: number; run: number }[];
    return new Map(rows.map((r) => [r.chunk, r.run]));
  }

  /** One transaction: the chunk's channel results, its completion record and the run that computed it. */
  commitChunk(chunk: number, rows: readonly ChannelResultRow[], renders: number, seconds: number, run?: number): void {
    const ins = this.db.prepare(
      'INSERT INTO results (channel, chunk, effect, consistency, degenerate, pairs, direction) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const done = this.db.prepare('INSERT INTO chunks (chunk, channels, renders, seconds, finished_at) VALUES (?, ?, ?, ?, ?)');
    const ran = this.db.prepare('INSERT INTO chunk_runs (chunk, run) VALUES (?, ?)');
    this.db.transaction(() => {
      for (const r of rows) ins.run(r.channel, chunk, r.effect, r.consistency, r.degenerate, r.pairs, blob(r.direction));
      done.run(chunk, rows.length, renders, seconds, new Date().toISOString());
      if (run !== undefined) ran.run(chunk, run);
    })();
  }

  /** Finished chunks with their bookkeeping, in chunk order. */
  chunkRecords(): { chunk: number; renders: number; seconds: number }[] {
    return this.db.prepare('SELECT chunk, renders, seconds FROM chunks ORDER BY chunk').all() as { chunk: number; renders: number; seconds: number }[];
  }

  chunkResults(chunk: number): ChannelResultRow[] {
    const rows = this.db.prepare('SELECT channel, effect, consistency, degenerate, pairs, direction FROM results WHERE chunk = ? ORDER BY channel').all(chunk) as (Omit<ChannelResultRow, 'direction'> & { direction: Buffer })[];
    return rows.map((r) => ({ ...r, direction: floats(r.direction) }));
  }

  resultCount(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM results').get() as { n: number }).n;
  }

  /** Results in channel order, a page at a time (bounded memory for any channel count). */
  *iterateResults(pageSize = 512): Generator<ChannelResultRow[]> {
    const stmt = this.db.prepare('SELECT channel, effect, consistency, degenerate, pairs, direction FROM results WHERE channel > ? ORDER BY channel LIMIT ?');
    let last = -1;
    for (;;) {
      const rows = stmt.all(last, pageSize) as { channel: number; effect: number; consistency: number; degenerate: number; pairs: number; direction: Buffer }[];
      if (rows.length === 0) return;
      last = rows[rows.length - 1].channel;
      yield rows.map((r) => ({ ...r, direction: floats(r.direction) }));
    }
  }

  addTiming(stage: string, seconds: number, renders: number, detail: Record<string, unknown> = {}): void {
    this.db
      .prepare('INSERT INTO timings (stage, seconds, renders, detail) VALUES (?, ?, ?, ?) ON CONFLICT(stage) DO UPDATE SET seconds = seconds + excluded.seconds, renders = renders + excluded.renders, detail = excluded.detail')
      .run(stage, seconds, renders, JSON.stringify(detail));
  }

  timings(): { stage: string; seconds: number; renders: number; detail: string }[] {
    return this.db.prepare('SELECT stage, seconds, renders, detail FROM timings ORDER BY stage').all() as { stage: string; seconds: number; renders: number; detail: string }[];
  }

  chunkSeconds(): { seconds: number; renders: number } {
    return this.db.prepare('SELECT COALESCE(SUM(seconds), 0) AS seconds, COALESCE(SUM(renders), 0) AS renders FROM chunks').get() as { seconds: number; renders: number };
  }
}
