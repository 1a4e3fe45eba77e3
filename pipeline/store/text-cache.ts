/**
 * A SQLite cache of prompt embeddings t(p) (DESIGN §1), so re-running a prompt costs a lookup
 * instead of 79 text-encoder rows.
 *
 * It stores the finished t(p), not the 79 per-template embeddings: t(p) is all that Δt and the
 * catalogue need, it is 79× smaller (2 KiB instead of 158 KiB a prompt at D = 512), and because
 * it is the stage's own float32 output a hit gives exactly the bytes a cold run gives. Raw rows
 * would only pay off if template sets changed often; the project uses one fixed set.
 *
 * The key is (encoder manifest sha256, templates sha256, prompt). The manifest pins every file's
 * sha256, tokenizer included, so any change of weights, tokenizer or template list is a different
 * key and never a stale vector. The prompt is kept exactly as given: "Face" and "face" tokenize
 * alike, but keying on the raw text keeps the cache free of any tokenizer logic.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { fail } from '../core/errors.ts';

/** Relative to the working directory, like every other output (data/cache is git-ignored). */
export const DEFAULT_TEXT_CACHE = 'data/cache/text-embeddings.sqlite';

/** Bumped when the table layout or the meaning of a stored vector changes. */
const SCHEMA_VERSION = '1';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS prompt_embeddings (
  encoder_sha256 TEXT NOT NULL, templates_sha256 TEXT NOT NULL, prompt TEXT NOT NULL,
  encoder_id TEXT NOT NULL, templates INTEGER NOT NULL, dim INTEGER NOT NULL,
  embedding BLOB NOT NULL, created_at TEXT NOT NULL,
  PRIMARY KEY (encoder_sha256, templates_sha256, prompt)) WITHOUT ROWID;
`;

export interface TextCacheKey {
  /** `encoder.bundle.manifestSha256`. */
  encoderSha256: string;
  /** sha256 of the ordered template list (see templatesSha256 in stages/text-directions.ts). */
  templatesSha256: string;
}

/** Written beside each vector so a cache can be inspected with the sqlite3 shell. */
export interface TextCacheEntryInfo {
  encoderId: string;
  templates: number;
}

function deleteHint(path: string): string {
  return `delete ${path}: it only holds cached text embeddings and is rebuilt on the next run`;
}

/** What to do about a cache SQLite cannot use: only a damaged file is worth deleting. */
function hintFor(e: unknown, path: string): string {
  switch ((e as { code?: string }).code) {
    case 'SQLITE_FULL':
      return 'the disk is full: free some space, or pass --no-cache';
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_READONLY':
    case 'SQLITE_PERM':
    case 'EEXIST': // mkdir -p of its folder: a part of the path is a file
    case 'ENOTDIR':
    case 'EACCES':
    case 'EROFS':
      return `check that ${dirname(path)} exists and you may write there, give another --text-cache FILE, or pass --no-cache`;
    default:
      return deleteHint(path);
  }
}

export class TextCache {
  private constructor(
    readonly path: string,
    private readonly db: Database.Database,
  ) {}

  /** Open (creating it and its folder if needed). An unreadable file is E_STORE with a hint to delete it. */
  static open(pathArg: string): TextCache {
    const path = resolve(pathArg);
    if (existsSync(path) && statSync(path).isDirectory()) fail('E_STORE', `text-embedding cache ${path} is a directory, not a cache file`, 'give a file path for --text-cache, or pass --no-cache');
    let db: Database.Database | undefined;
    try {
      mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
      // better-sqlite3 opens any file lazily; the first statement is what finds a non-database.
      db.pragma('busy_timeout = 5000'); // several runs may share one cache
      db.pragma('journal_mode = WAL');
      db.exec(SCHEMA);
      const version = (db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined)?.value;
      if (version === undefined) db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(SCHEMA_VERSION);
      else if (version !== SCHEMA_VERSION) throw new Error(`schema version ${version}, this tool writes ${SCHEMA_VERSION}`);
      db.prepare('SELECT encoder_sha256, templates_sha256, prompt, dim, embedding FROM prompt_embeddings LIMIT 0').all();
    } catch (e) {
      db?.close();
      const code = (e as { code?: string }).code;
      fail('E_STORE', `text-embedding cache ${path} is unreadable: ${(e as Error).message}${code ? ` (${code})` : ''}`, hintFor(e, path));
    }
    return new TextCache(path, db);
  }

  /** t(p) for each prompt, or undefined where it is not cached. Vectors are fresh copies. */
  get(key: TextCacheKey, prompts: readonly string[], dim: number): (Float32Array | undefined)[] {
    return this.guard(() => {
      const stmt = this.db.prepare('SELECT dim, embedding FROM prompt_embeddings WHERE encoder_sha256 = ? AND templates_sha256 = ? AND prompt = ?');
      return prompts.map((prompt) => {
        const row = stmt.get(key.encoderSha256, key.templatesSha256, prompt) as { dim: number; embedding: Buffer } | undefined;
        if (!row) return undefined;
        // The key fixes the encoder, so any other size means the row was damaged or hand-edited.
        if (row.dim !== dim || row.embedding.byteLength !== dim * 4) {
          throw new Error(`the entry for ${JSON.stringify(prompt)} holds ${row.embedding.byteLength} bytes (dim ${row.dim}); the encoder's embeddings have ${dim} floats`);
        }
        const v = new Float32Array(dim); // copied: the Buffer may be a view into a shared pool
        new Uint8Array(v.buffer).set(row.embedding);
        if (!v.every(Number.isFinite)) throw new Error(`the entry for ${JSON.stringify(prompt)} holds NaN or Inf`);
        return v;
      });
    });
  }

  /** Store t(p) for several prompts in one transaction: all of them or none. */
  put(key: TextCacheKey, info: TextCacheEntryInfo, entries: readonly { prompt: string; embedding: Float32Array }[]): void {
    this.guard(() => {
      const stmt = this.db.prepare(
        `INSERT OR REPLACE INTO prompt_embeddings
           (encoder_sha256, templates_sha256, prompt, encoder_id, templates, dim, embedding, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const now = new Date().toISOString();
      this.db.transaction(() => {
        for (const { prompt, embedding: v } of entries) {
          const blob = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
          stmt.run(key.encoderSha256, key.templatesSha256, prompt, info.encoderId, info.templates, v.length, blob, now);
        }
      })();
    });
  }

  /** Number of cached vectors (all encoders and template sets). */
  size(): number {
    return this.guard(() => (this.db.prepare('SELECT COUNT(*) AS n FROM prompt_embeddings').get() as { n: number }).n);
  }

  close(): void {
    this.db.close();
  }

  /** Damage found after opening (a torn page, a bad row) gets the same code and hint as at open. */
  private guard<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'SQLITE_FULL') fail('E_OUTPUT', `text-embedding cache ${this.path} cannot be written: the disk is full (SQLITE_FULL)`, hintFor(e, this.path));
      if (code === 'SQLITE_BUSY') fail('E_STORE', `text-embedding cache ${this.path} is locked by another process: ${(e as Error).message}`, 'wait for the other run, or pass --no-cache');
      fail('E_STORE', `text-embedding cache ${this.path} is unreadable: ${(e as Error).message}${code ? ` (${code})` : ''}`, hintFor(e, this.path));
    }
  }
}
