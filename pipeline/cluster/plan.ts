/**
 * The nightly plan: from the config and what the folders already hold, what is up to date and
 * what must run. A build's folder is named by the sha256 of everything that determines its
 * numbers (bundle manifests, relevance and statistics settings, shard count, tool version), so
 * an unchanged build finds its statistics, shards and merged build where it left them; a shard
 * killed part-way is resumed, never redone. The finishing step (merges, catalogues, site) is up
 * to date when its stamp holds the sha256 of its inputs. Reads folders; writes nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../core/errors.ts';
import { styleLayout } from '../core/styles.ts';
import { loadEncoderBundle, loadGeneratorBundle } from '../models/bundle.ts';
import { TOOL_VERSION } from '../version.ts';
import { channelsOf, planChunks } from '../stages/relevance-plan.ts';
import { BuildDb } from '../store/build-db.ts';
import { readStatsFile } from '../store/stats-file.ts';
import { type BuildSpec, type NightlyConfig, configPath } from './config.ts';

export type ShardState = { index: number; chunksDone: number; chunksTotal: number; state: 'done' | 'partial' | 'absent' };

export interface BuildPlan {
  spec: BuildSpec;
  /** sha256 of the build's inputs; its folder is `<out>/builds/<id>-<key 12>`. */
  key: string;
  dir: string;
  generatorDir: string;
  encoderDir: string;
  statsFile: string;
  /** Whether the statistics file must be computed. */
  statsNeeded: boolean;
  shards: ShardState[];
  /** The merged build, named by the build id (its id in the catalogue). */
  mergedDir: string;
  merged: boolean;
}

export interface NightPlan {
  config: NightlyConfig;
  builds: BuildPlan[];
  /** sha256 of the finishing step's inputs, and whether it must run. */
  finishKey: string;
  finishNeeded: boolean;
  stampFile: string;
  upToDate: boolean;
}

export function sha256Json(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

export function shardDir(b: Pick<BuildPlan, 'dir'>, index: number | string): string {
  return join(b.dir, 'shards', String(index));
}

/** What a shard folder holds: finished, resumable, or nothing yet. A folder of another build is refused. */
function shardState(b: Omit<BuildPlan, 'shards' | 'merged'>, index: number, chunksTotal: number, statsSha256: string | undefined): ShardState {
  const db = join(shardDir(b, index), 'build.sqlite');
  if (!existsSync(db)) return { index, chunksDone: 0, chunksTotal, state: 'absent' };
  const bdb = new BuildDb(db, { readonly: true });
  try {
    const config = JSON.parse(bdb.getMeta('config') ?? '{}') as { statsSha256?: string };
    const shard = bdb.getMeta('shard');
    if (shard !== JSON.stringify({ index, count: b.spec.shards })) fail('E_SHARD', `${shardDir(b, index)} holds shard ${shard}, not ${index}/${b.spec.shards}`, 'remove that folder: it is not this build\'s');
    if (statsSha256 !== undefined && config.statsSha256 !== undefined && config.statsSha256 !== statsSha256) {
      fail('E_SHARD', `${shardDir(b, index)} was computed with other statistics than ${b.statsFile}`, `remove ${join(b.dir, 'shards')} to recompute the shards with these statistics, or restore the statistics file they used`);
    }
    const done = bdb.doneChunks().size;
    return { index, chunksDone: done, chunksTotal, state: done >= chunksTotal ? 'done' : 'partial' };
  } finally {
    bdb.close();
  }
}

function planBuild(cfg: NightlyConfig, spec: BuildSpec): BuildPlan {
  const models = configPath(cfg, cfg.models);
  const generatorDir = join(models, spec.generator);
  const encoderDir = join(models, spec.encoder);
  const gen = loadGeneratorBundle(generatorDir);
  const enc = loadEncoderBundle(encoderDir);
  const inputs = {
    format: 'styleatlas-nightly-build/1',
    tool: TOOL_VERSION,
    generator: { id: gen.manifest.id, manifestSha256: gen.manifestSha256 },
    encoder: { id: enc.manifest.id, manifestSha256: enc.manifestSha256 },
    relevance: spec.relevance,
    stats: spec.stats,
    shards: spec.shards,
  };
  const key = sha256Json(inputs);
  const dir = join(configPath(cfg, cfg.out), 'builds', `${spec.id}-${key.slice(0, 12)}`);
  const statsFile = join(dir, 'stats.npz');
  let statsSha256: string | undefined;
  if (existsSync(statsFile)) {
    const st = readStatsFile(statsFile);
    const p = st.provenance;
    const fits = p.generator.manifestSha256 === gen.manifestSha256 && p.samples === spec.stats.samples && p.seed === spec.stats.seed && p.psi === spec.relevance.psi && p.tool === TOOL_VERSION;
    if (!fits) fail('E_STORE', `${statsFile} holds statistics of other settings than its build folder's`, `remove ${statsFile}: it was not written by this build`);
    statsSha256 = st.sha256;
  }
  const channels = channelsOf(styleLayout(gen.manifest.layers), spec.relevance.channels);
  const base = { spec, key, dir, generatorDir, encoderDir, statsFile, statsNeeded: statsSha256 === undefined, mergedDir: join(dir, spec.id) };
  const shards = Array.from({ length: spec.shards }, (_, i) =>
    shardState(base, i, planChunks(channels, spec.relevance.chunk, { index: i, count: spec.shards }).length, statsSha256),
  );
  const merged = existsSync(join(base.mergedDir, 'build.sqlite')) && existsSync(join(base.mergedDir, 'relevance.arrow'));
  return { ...base, shards, merged };
}

function fileSha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function planNight(cfg: NightlyConfig): NightPlan {
  const builds = cfg.builds.map((b) => planBuild(cfg, b));
  const finishKey = sha256Json({
    format: 'styleatlas-nightly-finish/1',
    tool: TOOL_VERSION,
    builds: builds.map((b) => ({ id: b.spec.id, key: b.key, prompts: b.spec.prompts.map((p) => ({ file: configPath(cfg, p), sha256: fileSha256(configPath(cfg, p)) })) })),
    catalogue: cfg.catalogue && configPath(cfg, cfg.catalogue),
    site: cfg.site && configPath(cfg, cfg.site),
  });
  const stampFile = join(configPath(cfg, cfg.out), 'finished.json');
  const stamp = existsSync(stampFile) ? (JSON.parse(readFileSync(stampFile, 'utf8')) as { key?: string }).key : undefined;
  const outputsThere =
    (cfg.catalogue === null || existsSync(join(configPath(cfg, cfg.catalogue), 'catalogue.sqlite'))) && (cfg.site === null || existsSync(join(configPath(cfg, cfg.site), 'index.html')));
  const finishNeeded = stamp !== finishKey || !outputsThere || builds.some((b) => !b.merged);
  const upToDate = !finishNeeded && builds.every((b) => !b.statsNeeded && b.shards.every((s) => s.state === 'done'));
  return { config: cfg, builds, finishKey, finishNeeded, stampFile, upToDate };
}

/** Chunks committed in a shard's folder now (0 before it exists): progress while it runs. */
export function chunksDone(b: Pick<BuildPlan, 'dir'>, index: number): number {
  const path = join(shardDir(b, index), 'build.sqlite');
  if (!existsSync(path)) return 0;
  try {
    const db = new BuildDb(path, { readonly: true });
    try {
      return db.doneChunks().size;
    } finally {
      db.close();
    }
  } catch {
    return 0; // created but its schema not written yet
  }
}

/** Where a build's shards ran, from their execution records: "cpu on vm (onnxruntime 1.30.0, threads 1) ×2". */
export function whereShardsRan(b: Pick<BuildPlan, 'dir'>, shards: number): string {
  const seen = new Map<string, number>();
  for (let i = 0; i < shards; i++) {
    const path = join(shardDir(b, i), 'build.sqlite');
    if (!existsSync(path)) continue;
    const db = new BuildDb(path, { readonly: true });
    try {
      for (const r of db.runs()) {
        const k = `${r.provider} on ${r.host} (onnxruntime ${r.onnxruntime}, threads ${r.threads || 'default'}${r.gpu ? `, ${r.gpu}` : ''})`;
        seen.set(k, (seen.get(k) ?? 0) + 1);
      }
    } finally {
      db.close();
    }
  }
  return [...seen].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k)).join('; ') || 'nowhere yet';
}

/** Shards still to run (absent or partial). */
export function shardsToRun(b: BuildPlan): number[] {
  return b.shards.filter((s) => s.state !== 'done').map((s) => s.index);
}

/** The plan as `nightly --dry-run` prints it. Pure. */
export function renderPlan(plan: NightPlan): string {
  const lines = [`nightly plan: ${plan.config.file} (${TOOL_VERSION}, executor ${plan.config.executor.kind})`];
  for (const b of plan.builds) {
    const todo = shardsToRun(b);
    lines.push(`build ${b.spec.id}  key ${b.key.slice(0, 12)}  ${b.dir}`);
    lines.push(`  stats    ${b.statsNeeded ? `run    ${b.spec.stats.samples} samples → ${b.statsFile}` : 'up to date'}`);
    const partial = b.shards.filter((s) => s.state === 'partial').map((s) => `${s.index} (${s.chunksDone}/${s.chunksTotal} chunks, resumed)`);
    const absent = b.shards.filter((s) => s.state === 'absent').map((s) => String(s.index));
    lines.push(`  shards   ${todo.length === 0 ? `up to date (${b.spec.shards} of ${b.spec.shards})` : `run    ${todo.length} of ${b.spec.shards}: ${[...absent, ...partial].join(', ')}`}`);
    lines.push(`  merge    ${b.merged ? 'up to date' : 'run'}  → ${b.mergedDir}`);
  }
  const c = plan.config;
  const what = ['merges', c.catalogue && 'catalogues', c.site && 'site'].filter(Boolean).join(', ');
  lines.push(`finish (${what})  ${plan.finishNeeded ? 'run' : 'up to date'}`);
  lines.push(plan.upToDate ? 'up to date: nothing to run' : 'to run: the steps marked "run"');
  return lines.join('\n');
}
