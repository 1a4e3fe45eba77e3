/**
 * The Slurm executor: sbatch scripts in the night's folder, submitted with sbatch — a statistics
 * job per build that needs one, a job array per build whose task i runs `relevance --shard i/n
 * --resume --stats …` (--requeue: a preempted or failed node's task runs again and resumes), and
 * one finishing job (merges, catalogues, site) that waits with --dependency=afterok and is
 * cancelled by Slurm if a dependency fails. Options from the config (partition, account, time,
 * --gres=gpu:N, anything else) are passed through untouched. Job states are read from the
 * scheduler — sacct, or scontrol where accounting storage is off — never guessed.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fail } from '../core/errors.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { SHARD_INDEX, finishCommands, shardCommand, shellWords, statsCommand } from './commands.ts';
import type { SlurmSpec } from './config.ts';
import { type NightJob, type NightRecord, saveNight } from './night.ts';
import { type NightPlan, shardsToRun } from './plan.ts';

type Env = Readonly<Record<string, string | undefined>>;

function run(tool: string, args: readonly string[], env: Env): { ok: boolean; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(tool, args, { env: env as NodeJS.ProcessEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    return { ok: true, stdout, stderr: '' };
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (err.code === 'ENOENT') fail('E_SCHEDULER', `${tool} is not on PATH: Slurm's client commands are needed for the slurm executor`, 'run on a Slurm login node, install Slurm\'s client (Debian: slurm-client), or use "executor": {"kind": "local"}');
    return { ok: false, stdout: err.stdout ?? '', stderr: err.stderr ?? err.message };
  }
}

/** sbatch must be there before anything is written or submitted. */
export function checkSlurm(env: Env): void {
  const r = run('sbatch', ['--version'], env);
  if (!r.ok) fail('E_SCHEDULER', `sbatch --version failed: ${r.stderr.trim()}`);
}

/** [0,1,2,3] → "0-3", [1,3,4] → "1,3-4". */
export function arraySpec(indices: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < indices.length; i++) {
    let j = i;
    while (j + 1 < indices.length && indices[j + 1] === indices[j] + 1) j++;
    parts.push(i === j ? `${indices[i]}` : `${indices[i]}-${indices[j]}`);
    i = j;
  }
  return parts.join(',');
}

/** An sbatch script: #SBATCH lines from the config, then the commands. Pure. */
export function sbatchScript(ex: SlurmSpec, o: { name: string; output: string; chdir: string; array?: string; killOnInvalidDep?: boolean; lines: string[] }): string {
  const opts = [
    `--job-name=${o.name}`,
    `--output=${o.output}`,
    '--open-mode=append',
    '--requeue',
    `--chdir=${o.chdir}`,
    ...(o.array ? [`--array=${o.array}${ex.maxParallel ? `%${ex.maxParallel}` : ''}`] : []),
    ...(o.killOnInvalidDep ? ['--kill-on-invalid-dep=yes'] : []),
    ...(ex.partition ? [`--partition=${ex.partition}`] : []),
    ...(ex.account ? [`--account=${ex.account}`] : []),
    ...(ex.time ? [`--time=${ex.time}`] : []),
    ...(ex.gpus > 0 ? [`--gres=gpu:${ex.gpus}`] : []),
    ...(ex.cpusPerTask ? [`--cpus-per-task=${ex.cpusPerTask}`] : []),
    ...(ex.mem ? [`--mem=${ex.mem}`] : []),
    ...ex.options,
  ];
  return ['#!/bin/bash', ...opts.map((x) => `#SBATCH ${x}`), '# Written by styleatlas nightly; the commands are the ones a user would type.', 'set -euo pipefail', ...o.lines, ''].join('\n');
}

function submit(script: string, dependency: string[], env: Env): string {
  const args = ['--parsable', ...(dependency.length ? [`--dependency=afterok:${dependency.join(':')}`] : []), script];
  const r = run('sbatch', args, env);
  const id = r.stdout.trim().split(';')[0];
  if (!r.ok || !/^\d+$/.test(id)) fail('E_SCHEDULER', `sbatch ${args.join(' ')} refused the job: ${(r.stderr || r.stdout).trim()}`);
  return id;
}

/** Write the night's scripts and submit them in dependency order; returns the jobs it submitted. */
export function submitSlurm(plan: NightPlan, night: { dir: string; record: NightRecord }, command: readonly string[], env: Env): NightJob[] {
  const ex = plan.config.executor as SlurmSpec;
  const abs = (p: string) => p;
  const scripts = join(night.dir, 'slurm');
  mkdirSync(scripts, { recursive: true });
  const styleatlas = shellWords(command);
  const write = (name: string, text: string) => {
    const path = join(scripts, name);
    writeFileAtomic(path, text);
    chmodSync(path, 0o755);
    return path;
  };
  const logs = join(night.dir, 'logs');
  const jobs: NightJob[] = night.record.jobs;
  const record = () => saveNight(plan.config, night.dir, night.record);
  const after: string[] = [];
  for (const b of plan.builds) {
    const id = b.spec.id;
    let statsJob: string | undefined;
    if (b.statsNeeded) {
      const script = write(`${id}-stats.sbatch`, sbatchScript(ex, { name: `styleatlas-${id}-stats`, output: join(logs, `${id}-stats-%j.log`), chdir: plan.config.dir, lines: [`exec ${styleatlas} ${shellWords(statsCommand(b, ex, abs))}`] }));
      statsJob = submit(script, [], env);
      jobs.push({ step: 'stats', build: id, jobId: statsJob, script });
      record();
      after.push(statsJob);
    }
    const todo = shardsToRun(b);
    if (todo.length === 0) continue;
    const script = write(
      `${id}-shards.sbatch`,
      sbatchScript(ex, {
        name: `styleatlas-${id}-shards`,
        output: join(logs, `${id}-shard-%a.log`),
        chdir: plan.config.dir,
        array: arraySpec(todo),
        killOnInvalidDep: true,
        lines: [`exec ${styleatlas} ${shellWords(shardCommand(b, ex, abs, SHARD_INDEX), 'SLURM_ARRAY_TASK_ID')}`],
      }),
    );
    const arrayJob = submit(script, statsJob ? [statsJob] : [], env);
    jobs.push({ step: 'shards', build: id, shards: todo, jobId: arrayJob, script });
    record();
    after.push(arrayJob);
  }
  if (plan.finishNeeded) {
    const { merges, rest } = finishCommands(plan, abs);
    const lines = [
      ...merges.map((m) => `[ -e ${shellWords([m.done])} ] || ${styleatlas} ${shellWords(m.command)}`),
      ...rest.map((c) => `${styleatlas} ${shellWords(c)}`),
      `printf '%s\\n' ${shellWords([JSON.stringify({ key: plan.finishKey })])} > ${shellWords([`${plan.stampFile}.tmp`])}`,
      `mv ${shellWords([`${plan.stampFile}.tmp`, plan.stampFile])}`,
    ];
    const script = write('finish.sbatch', sbatchScript(ex, { name: 'styleatlas-finish', output: join(logs, 'finish-%j.log'), chdir: plan.config.dir, killOnInvalidDep: true, lines }));
    const finishJob = submit(script, after, env);
    jobs.push({ step: 'finish', jobId: finishJob, script });
    record();
  }
  return jobs;
}

export interface TaskState {
  /** "12" or "12_3" (array task), as the scheduler names it. */
  id: string;
  state: string;
  reason?: string;
  exitCode?: string;
}

const ACTIVE = /^(PENDING|RUNNING|REQUEUED|REQUEUE_HOLD|REQUEUE_FED|CONFIGURING|COMPLETING|RESIZING|SUSPENDED|STAGE_OUT|SIGNALING)/;

export function isActive(state: string): boolean {
  return ACTIVE.test(state);
}

/** `scontrol -o show job` lines → task states. Pure. */
export function parseScontrol(text: string): TaskState[] {
  const out: TaskState[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('JobId=')) continue;
    const f = (k: string) => new RegExp(`(?:^|\\s)${k}=(\\S*)`).exec(line)?.[1];
    const array = f('ArrayJobId');
    const task = f('ArrayTaskId');
    out.push({ id: array && task ? `${array}_${task}` : f('JobId')!, state: f('JobState') ?? 'UNKNOWN', reason: f('Reason'), exitCode: f('ExitCode') });
  }
  return out;
}

/** `sacct -n -P -X -o JobID,State,ExitCode,Reason` lines → task states. Pure. */
export function parseSacct(text: string): TaskState[] {
  return text
    .split('\n')
    .filter((l) => l.includes('|'))
    .map((l) => {
      const [id, state, exitCode, reason] = l.split('|');
      return { id, state: state.split(' ')[0], exitCode, reason: reason || undefined };
    });
}

/** The states of a night's jobs from the scheduler, and which tool said so. */
export function slurmStates(jobIds: readonly string[], env: Env): { source: string; tasks: TaskState[] } {
  if (jobIds.length === 0) return { source: 'no jobs', tasks: [] };
  const sacct = run('sacct', ['-n', '-P', '-X', '-j', jobIds.join(','), '-o', 'JobID,State,ExitCode,Reason'], env);
  if (sacct.ok) return { source: 'sacct', tasks: parseSacct(sacct.stdout) };
  const tasks: TaskState[] = [];
  for (const id of jobIds) {
    const r = run('scontrol', ['-o', 'show', 'job', id], env);
    if (r.ok) tasks.push(...parseScontrol(r.stdout));
    else tasks.push({ id, state: 'UNKNOWN', reason: `neither sacct nor scontrol knows it (${r.stderr.trim()})` });
  }
  return { source: `scontrol (sacct: ${sacct.stderr.trim().split('\n')[0]})`, tasks };
}

/** The tasks of one submitted job (an array's tasks, or the job itself). */
export function tasksOf(job: NightJob, tasks: readonly TaskState[]): TaskState[] {
  return tasks.filter((t) => t.id === job.jobId || t.id.startsWith(`${job.jobId}_`));
}
