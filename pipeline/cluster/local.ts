/**
 * The local executor (the embedded default): the night's steps as child processes of this
 * machine running the same `styleatlas` commands a user would — statistics, then the shards as
 * at most `parallel` processes at once, then the finishing step — with progress read from the
 * shards' build.sqlite (chunks committed, rate, ETA). A failed shard leaves the others running;
 * the finishing step runs only when every shard is done, and the next nightly resumes the rest.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import PQueue from 'p-queue';
import { writeFileAtomic } from '../store/atomic.ts';
import { ProgressClock, type ProgressFn } from '../stages/progress.ts';
import { finishCommands, shardCommand, statsCommand } from './commands.ts';
import type { LocalSpec } from './config.ts';
import { type NightJob, type NightRecord, finishStamp, saveNight } from './night.ts';
import { type NightPlan, chunksDone, shardsToRun, whereShardsRan } from './plan.ts';

export interface LocalRun {
  plan: NightPlan;
  night: { dir: string; record: NightRecord };
  /** The argv prefix that runs styleatlas (this Node and bin/styleatlas.mjs). */
  command: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  onProgress?: ProgressFn;
  log: (m: string) => void;
}

function runChild(run: LocalRun, job: NightJob, args: readonly string[]): Promise<boolean> {
  const { dir, record } = run.night;
  const log = join(dir, 'logs', `${job.step}${job.build ? `-${job.build}` : ''}${job.shards ? `-${job.shards.join('-')}` : ''}.log`);
  job.log = log;
  job.state = 'running';
  record.jobs.push(job);
  saveNight(run.plan.config, dir, record);
  const fd = openSync(log, 'a');
  return new Promise<boolean>((resolve) => {
    const child = spawn(run.command[0], [...run.command.slice(1), ...args], { stdio: ['ignore', fd, fd], env: run.env as NodeJS.ProcessEnv, cwd: run.plan.config.dir });
    const end = (code: number | null, signal?: string | null) => {
      closeSync(fd);
      job.exitCode = code;
      job.state = code === 0 ? 'completed' : signal ? `killed (${signal})` : 'failed';
      saveNight(run.plan.config, dir, record);
      if (code !== 0) run.log(`nightly: ${job.step}${job.build ? ` of ${job.build}` : ''}${job.shards ? ` shard ${job.shards.join(',')}` : ''} ${job.state} (exit ${code}); see ${log}`);
      resolve(code === 0);
    };
    child.on('error', (e) => {
      job.state = `could not start: ${e.message}`;
      end(null);
    });
    child.on('exit', (code, signal) => end(code, signal));
  });
}

export async function runLocal(run: LocalRun): Promise<{ ok: boolean }> {
  const { plan } = run;
  const ex = plan.config.executor as LocalSpec;
  const abs = (p: string) => p;
  let ok = true;
  for (const b of plan.builds.filter((x) => x.statsNeeded)) {
    run.log(`nightly: stats of ${b.spec.id}`);
    ok = (await runChild(run, { step: 'stats', build: b.spec.id }, statsCommand(b, ex, abs))) && ok;
  }
  if (!ok) return { ok };
  const shards = plan.builds.flatMap((b) => shardsToRun(b).map((i) => ({ b, i })));
  if (shards.length > 0) {
    const total = shards.reduce((s, { b, i }) => s + b.shards[i].chunksTotal - b.shards[i].chunksDone, 0);
    const before = shards.map(({ b, i }) => b.shards[i].chunksDone);
    const clock = new ProgressClock('nightly', total, 'chunks', run.onProgress);
    const poll = () => clock.tick(shards.reduce((s, { b, i }, k) => s + chunksDone(b, i) - before[k], 0), `${shards.length} shards, ${ex.parallel} at once`);
    const timer = setInterval(poll, 2000);
    run.log(`nightly: ${shards.length} shard${shards.length > 1 ? 's' : ''} (${total} chunks), ${ex.parallel} at once`);
    const queue = new PQueue({ concurrency: ex.parallel });
    const results = await Promise.all(shards.map(({ b, i }) => queue.add(() => runChild(run, { step: 'shards', build: b.spec.id, shards: [i] }, shardCommand(b, ex, abs, i)))));
    clearInterval(timer);
    poll();
    ok = results.every(Boolean);
    for (const b of plan.builds) run.log(`nightly: ${b.spec.id} ran on ${whereShardsRan(b, b.spec.shards)}`);
  }
  if (!ok || !plan.finishNeeded) return { ok };
  const { merges, rest } = finishCommands(plan, abs);
  for (const m of merges) {
    if (existsSync(m.done)) continue;
    if (!(await runChild(run, { step: 'finish', build: m.build }, m.command))) return { ok: false };
  }
  for (const c of rest) if (!(await runChild(run, { step: 'finish' }, c))) return { ok: false };
  writeFileAtomic(plan.stampFile, finishStamp(plan.finishKey));
  return { ok: true };
}
