/**
 * `styleatlas nightly`: config → plan → one executor (local, slurm, kubernetes) → the night's
 * record; and `nightly status`: the latest night as the scheduler and the build folders see it.
 * Everything that can be refused (config, missing sbatch, jobs of an earlier night still
 * running) is refused before a night folder is made or a job is submitted.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { fail } from '../core/errors.ts';
import { processAlive } from '../store/leftovers.ts';
import { FolderLock } from '../store/lock.ts';
import { ProgressClock, type ProgressFn } from '../stages/progress.ts';
import { type NightlyConfig, type SlurmSpec, configPath, loadNightlyConfig } from './config.ts';
import { writeKubernetes } from './kubernetes.ts';
import { runLocal } from './local.ts';
import { type NightJob, type NightRecord, loadNight, newNight, saveNight } from './night.ts';
import { type NightPlan, chunksDone, planNight, whereShardsRan } from './plan.ts';
import { type TaskState, checkSlurm, isActive, slurmStates, submitSlurm, tasksOf } from './slurm.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** How this process runs styleatlas: its own Node and this checkout's bin (what a user runs). */
export function defaultCommand(): string[] {
  return [process.execPath, fileURLToPath(new URL('../../bin/styleatlas.mjs', import.meta.url))];
}

export interface NightlyOptions {
  configFile: string;
  dryRun: boolean;
  wait: boolean;
  env: Env;
  log: (m: string) => void;
  onProgress?: ProgressFn;
}

export interface NightlyResult {
  plan: NightPlan;
  night?: string;
  jobs: NightJob[];
  /** Printed next steps (the kubernetes executor's apply.sh). */
  next?: string;
}

function slurmCommand(cfg: NightlyConfig): string[] {
  return (cfg.executor as SlurmSpec).command ?? defaultCommand();
}

/** A nightly must not submit shards that an earlier night's jobs are still computing. */
function refuseActiveNight(cfg: NightlyConfig, env: Env): void {
  if (!existsSync(`${configPath(cfg, cfg.out)}/nights/latest`)) return;
  const { record } = loadNight(cfg);
  if (record.executor !== 'slurm') return;
  const ids = record.jobs.map((j) => j.jobId).filter((x): x is string => Boolean(x));
  const active = slurmStates(ids, env).tasks.filter((t) => isActive(t.state));
  if (active.length) fail('E_SCHEDULER', `night ${record.night} still has jobs in Slurm (${active.map((t) => `${t.id} ${t.state}`).join(', ')})`, 'wait for them with `styleatlas nightly status --wait`, or scancel them');
}

export async function runNightly(o: NightlyOptions): Promise<NightlyResult> {
  const cfg = loadNightlyConfig(o.configFile);
  if (cfg.executor.kind === 'slurm') checkSlurm(o.env);
  const first = planNight(cfg);
  if (o.dryRun || first.upToDate) return { plan: first, jobs: [] };
  mkdirSync(configPath(cfg, cfg.out), { recursive: true });
  const lock = FolderLock.acquire(configPath(cfg, cfg.out), 'nightly', 'nightly.lock');
  try {
    if (cfg.executor.kind === 'slurm') refuseActiveNight(cfg, o.env);
    const plan = planNight(cfg); // again, under the lock
    if (plan.upToDate) return { plan, jobs: [] };
    const night = newNight(plan);
    saveNight(cfg, night.dir, night.record);
    o.log(`nightly: night ${night.record.night} (${cfg.executor.kind}) → ${night.dir}`);
    if (cfg.executor.kind === 'local') {
      const { ok } = await runLocal({ plan, night, command: defaultCommand(), env: o.env, onProgress: o.onProgress, log: o.log });
      if (!ok) failedNight(night.record);
      return { plan, night: night.record.night, jobs: night.record.jobs };
    }
    if (cfg.executor.kind === 'kubernetes') {
      const { jobs, applyScript } = writeKubernetes(plan, night);
      night.record.jobs.push(...jobs);
      saveNight(cfg, night.dir, night.record);
      return { plan, night: night.record.night, jobs, next: `kubectl apply the manifests in order, or run ${applyScript}` };
    }
    const jobs = submitSlurm(plan, night, slurmCommand(cfg), o.env);
    o.log(`nightly: submitted ${jobs.map((j) => `${j.step}${j.build ? ` ${j.build}` : ''} job ${j.jobId}${j.shards ? ` [${j.shards.join(',')}]` : ''}`).join('; ')}`);
    if (o.wait) await waitNight(cfg, night.record, o);
    return { plan, night: night.record.night, jobs };
  } finally {
    lock.release();
  }
}

function failedNight(record: NightRecord, tasks: readonly TaskState[] = []): never {
  const bad =
    record.executor === 'slurm'
      ? tasks.filter((t) => t.state !== 'COMPLETED').map((t) => `${t.id} ${t.state}${t.reason && t.reason !== 'None' ? ` (${t.reason})` : ''}`)
      : record.jobs.filter((j) => j.state !== 'completed').map((j) => `${j.step}${j.build ? ` ${j.build}` : ''}${j.shards ? ` shard ${j.shards.join(',')}` : ''}: ${j.state}${j.log ? ` (${j.log})` : ''}`);
  fail('E_JOB', `night ${record.night} did not finish: ${bad.join('; ')}`, 'see the logs in the night\'s folder; run the nightly again: only what is missing runs (shards resume)');
}

/** Chunks committed and planned over the night's builds. */
function nightChunks(record: NightRecord): { done: number; total: number } {
  let done = 0;
  let total = 0;
  for (const b of record.builds) {
    for (let i = 0; i < b.shards; i++) {
      done += Math.min(chunksDone(b, i), b.chunks[i]);
      total += b.chunks[i];
    }
  }
  return { done, total };
}

/** Follow the night's Slurm jobs to their end; E_JOB unless every one completed. */
export async function waitNight(cfg: NightlyConfig, record: NightRecord, o: Pick<NightlyOptions, 'env' | 'log' | 'onProgress'>): Promise<void> {
  const ex = cfg.executor as SlurmSpec;
  const ids = record.jobs.map((j) => j.jobId).filter((x): x is string => Boolean(x));
  const start = nightChunks(record);
  const clock = new ProgressClock('nightly', start.total - start.done, 'chunks', o.onProgress);
  for (;;) {
    const { tasks } = slurmStates(ids, o.env);
    const c = nightChunks(record);
    const active = tasks.filter((t) => isActive(t.state));
    clock.tick(c.done - start.done, `${active.length} job${active.length === 1 ? '' : 's'} pending or running`);
    if (active.length === 0) {
      if (tasks.some((t) => t.state !== 'COMPLETED')) failedNight(record, tasks);
      o.log(`nightly: night ${record.night}: every job completed`);
      for (const b of record.builds) o.log(`nightly: ${b.id} ran on ${whereShardsRan(b, b.shards)}`);
      return;
    }
    await new Promise((r) => setTimeout(r, ex.pollSeconds * 1000));
  }
}

/** `nightly status`: the latest night, from the scheduler (Slurm) or its record, and the build folders. */
export function nightStatus(cfg: NightlyConfig, env: Env): { text: string; active: boolean; finished: boolean; record: NightRecord } {
  const { dir, record } = loadNight(cfg);
  const lines = [`night ${record.night}  executor ${record.executor}  ${dir}`];
  let active = false;
  let slurm: { source: string; tasks: TaskState[] } | undefined;
  if (record.executor === 'slurm') {
    slurm = slurmStates(record.jobs.map((j) => j.jobId).filter((x): x is string => Boolean(x)), env);
    lines.push(`  states from ${slurm.source}`);
  }
  for (const j of record.jobs) {
    const what = `${j.step.padEnd(6)} ${(j.build ?? '').padEnd(20)}`;
    if (slurm) {
      const ts = tasksOf(j, slurm.tasks);
      active ||= ts.some((t) => isActive(t.state));
      lines.push(`  ${what} job ${j.jobId}${j.shards ? ` [${j.shards.join(',')}]` : ''}  ${ts.map((t) => `${t.id.includes('_') ? `${t.id.split('_')[1]}:` : ''}${t.state}${t.reason && t.reason !== 'None' && isActive(t.state) ? ` (${t.reason})` : ''}`).join(', ') || 'unknown to Slurm'}`);
    } else if (record.executor === 'kubernetes') {
      lines.push(`  ${what} Job ${j.name}  (applied by you: kubectl get job ${j.name})`);
    } else {
      // A local night's steps are children of its nightly: if that process is gone, so are they.
      const orphaned = j.state === 'running' && record.host === hostname() && !processAlive(record.pid);
      if (orphaned) j.state = `interrupted (nightly pid ${record.pid} is gone)`;
      active ||= j.state === 'running';
      lines.push(`  ${what} ${j.shards ? `shard ${j.shards.join(',')}  ` : ''}${j.state}${j.exitCode !== undefined && j.exitCode !== null && j.exitCode !== 0 ? ` (exit ${j.exitCode})` : ''}  ${j.log ?? ''}`);
    }
  }
  for (const b of record.builds) {
    const done = Array.from({ length: b.shards }, (_, i) => Math.min(chunksDone(b, i), b.chunks[i]));
    const total = b.chunks.reduce((a, x) => a + x, 0);
    lines.push(`  build ${b.id}: ${done.reduce((a, x) => a + x, 0)}/${total} chunks (shards ${done.map((d, i) => `${i}:${d}/${b.chunks[i]}`).join(' ')})`);
    lines.push(`    ran on ${whereShardsRan(b, b.shards)}`);
  }
  const stamp = existsSync(record.stampFile) ? (JSON.parse(readFileSync(record.stampFile, 'utf8')) as { key?: string }).key : undefined;
  const finished = stamp === record.finishKey;
  lines.push(`  finished: ${finished ? 'yes (the finishing step is up to date)' : active ? 'not yet' : 'no — run the nightly again to resume what is missing'}`);
  return { text: lines.join('\n'), active, finished, record };
}
