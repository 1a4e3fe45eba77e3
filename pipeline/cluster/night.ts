/**
 * A night's folder (`<out>/nights/<UTC time>`): the plan it ran, the executor's record of what it
 * started (pids and exit codes, Slurm job ids, Kubernetes manifests), scripts and logs. The
 * latest night is named in `<out>/nights/latest` so `nightly status` finds it.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fail } from '../core/errors.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { type NightlyConfig, configPath } from './config.ts';
import type { NightPlan } from './plan.ts';

/** One thing an executor started. `state` is filled by the executor that knows it (local). */
export interface NightJob {
  step: 'stats' | 'shards' | 'finish';
  build?: string;
  /** Shard indices (shards steps). */
  shards?: number[];
  /** Slurm job id (an array job's id for shards). */
  jobId?: string;
  /** Kubernetes Job name and its manifest file. */
  name?: string;
  manifest?: string;
  script?: string;
  log?: string;
  state?: string;
  exitCode?: number | null;
}

export interface NightRecord {
  night: string;
  executor: NightlyConfig['executor']['kind'];
  config: string;
  /** The nightly process that made the night (a local night's steps are its children). */
  pid: number;
  host: string;
  startedAt: string;
  finishKey: string;
  stampFile: string;
  builds: { id: string; key: string; dir: string; shards: number; chunks: number[] }[];
  jobs: NightJob[];
}

export function nightsDir(cfg: NightlyConfig): string {
  return join(configPath(cfg, cfg.out), 'nights');
}

export function nightName(d = new Date()): string {
  return d.toISOString().replace(/[:.]/g, '-');
}

export function newNight(plan: NightPlan): { dir: string; record: NightRecord } {
  const cfg = plan.config;
  let name = nightName();
  while (existsSync(join(nightsDir(cfg), name))) name = nightName(new Date(Date.now() + 1));
  const dir = join(nightsDir(cfg), name);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const record: NightRecord = {
    night: name,
    executor: cfg.executor.kind,
    config: cfg.file,
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    finishKey: plan.finishKey,
    stampFile: plan.stampFile,
    builds: plan.builds.map((b) => ({ id: b.spec.id, key: b.key, dir: b.dir, shards: b.spec.shards, chunks: b.shards.map((s) => s.chunksTotal) })),
    jobs: [],
  };
  return { dir, record };
}

export function saveNight(cfg: NightlyConfig, dir: string, record: NightRecord): void {
  writeFileAtomic(join(dir, 'night.json'), `${JSON.stringify(record, null, 2)}\n`);
  writeFileAtomic(join(nightsDir(cfg), 'latest'), `${record.night}\n`);
}

export function loadNight(cfg: NightlyConfig, name?: string): { dir: string; record: NightRecord } {
  const latest = join(nightsDir(cfg), 'latest');
  const night = name ?? (existsSync(latest) ? readFileSync(latest, 'utf8').trim() : undefined);
  if (!night) fail('E_MISSING', `no nightly has run with ${cfg.file} yet (no ${latest})`, 'run `styleatlas nightly --config FILE` first');
  const dir = join(nightsDir(cfg), night);
  const file = join(dir, 'night.json');
  if (!existsSync(file)) fail('E_MISSING', `night ${night} has no record (${file})`);
  return { dir, record: JSON.parse(readFileSync(file, 'utf8')) as NightRecord };
}

/** What the finishing step writes last: the inputs it finished, so the next plan skips it. */
export function finishStamp(key: string): string {
  return `${JSON.stringify({ key, finishedAt: new Date().toISOString() })}\n`;
}
