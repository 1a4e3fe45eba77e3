/**
 * The nightly on a real single-node Slurm (munged, slurmctld, slurmd started by the test):
 * tiny × colour-world in 4 shards through sbatch gives the bytes of one local single-process
 * build; an array task killed mid-run (scancel --signal=KILL) fails the night, and the nightly
 * run again resubmits only that shard and finishes with the same bytes; a third run submits
 * nothing.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chunksDone } from '../../pipeline/cluster/plan.ts';
import type { NightRecord } from '../../pipeline/cluster/night.ts';
import { MODELS, REPO } from '../helpers/bundles.ts';
import { relevanceColumns } from '../helpers/builds.ts';
import { cli } from '../helpers/cli.ts';
import { type SlurmCluster, startSlurm } from '../helpers/slurm.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir('styleatlas-nightly-');
const RELEVANCE = { samples: 8, chunk: 16, batch: 8 };
const STATS = { samples: 2000, seed: 1_000_000 };
let slurm: SlurmCluster;

beforeAll(async () => {
  slurm = await startSlurm();
}, 600_000);
afterAll(async () => {
  await slurm?.stop();
}, 300_000);

const configFile = join(tmp, 'nightly.json');
const nightly = (...args: string[]) => cli(['nightly', ...args, '--config', configFile], { env: slurm.env });
const nights = () => readdirSync(join(tmp, 'out', 'nights')).filter((n) => n !== 'latest');
const night = (name: string) => JSON.parse(readFileSync(join(tmp, 'out', 'nights', name, 'night.json'), 'utf8')) as NightRecord;

async function until(cond: () => boolean, what: string, ms = 300_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${slurm.run('squeue', [])}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('a 4-shard nightly on Slurm, killed in one array task and run again, gives the single build\'s bytes; then submits nothing', async () => {
  writeFileSync(
    configFile,
    JSON.stringify({
      out: 'out',
      models: MODELS,
      builds: [{ id: 'tiny-colour-world', generator: 'tiny', encoder: 'colour-world', shards: 4, relevance: RELEVANCE, stats: STATS, prompts: [join(REPO, 'data', 'prompts', 'colour-world.json')] }],
      catalogue: 'out/catalogue',
      site: 'out/site',
      executor: { kind: 'slurm', cpusPerTask: 1, maxParallel: 2, pollSeconds: 1, time: '01:00:00', options: ['--nice=0'] },
    }),
  );
  const first = nightly();
  expect(first.status, first.stderr).toBe(0);
  const rec = night(first.stdout.trim());
  expect(rec.jobs.map((j) => [j.step, j.shards])).toEqual([['stats', undefined], ['shards', [0, 1, 2, 3]], ['finish', undefined]]);
  const script = readFileSync(rec.jobs[1].script!, 'utf8');
  expect(script).toContain('#SBATCH --array=0-3%2');
  expect(script).toContain('#SBATCH --requeue');
  expect(script).toMatch(/relevance .*--shard "\$SLURM_ARRAY_TASK_ID"'\/4' --resume --stats /);
  // The command a user runs, on the project's runtime (the pinned Node that runs these tests).
  expect(script).toContain(`exec ${process.execPath} ${join(REPO, 'bin', 'styleatlas.mjs')} relevance --generator`);
  expect(readFileSync(rec.jobs[2].script!, 'utf8')).toMatch(/merge --out .* site build --catalogue/s);

  // Kill array task 2 once it has committed a chunk: the night fails, the finishing job is cancelled.
  const build = rec.builds[0];
  await until(() => chunksDone(build, 2) >= 1, 'array task 2 to commit a chunk');
  slurm.run('scancel', ['--signal=KILL', '--full', `${rec.jobs[1].jobId}_2`]);
  const status = nightly('status', '--wait');
  expect(status.status, status.stdout + status.stderr).toBe(1);
  expect(status.stderr).toMatch(/E_JOB: night .* did not finish: .*_2 (CANCELLED|FAILED)/);
  expect(chunksDone(build, 2)).toBeLessThan(build.chunks[2]); // it really stopped part-way
  const report = nightly('status');
  expect(report.stdout).toMatch(/states from scontrol/);
  expect(report.stdout).toMatch(/finished: no/);

  const again = nightly('--wait');
  expect(again.status, again.stderr).toBe(0);
  const rec2 = night(again.stdout.trim());
  expect(rec2.jobs.map((j) => [j.step, j.shards])).toEqual([['shards', [2]], ['finish', undefined]]);
  expect(nightly('status').stdout).toMatch(/finished: yes/);

  const reference = join(tmp, 'single');
  const single = cli([
    'relevance', '--generator', join(MODELS, 'tiny'), '--encoder', join(MODELS, 'colour-world'), '--out', reference, '--quiet',
    '--samples', String(RELEVANCE.samples), '--chunk', String(RELEVANCE.chunk), '--batch', String(RELEVANCE.batch),
    '--stats-samples', String(STATS.samples), '--stats-seed', String(STATS.seed),
  ]);
  expect(single.status, single.stderr).toBe(0);
  const merged = join(build.dir, 'tiny-colour-world');
  expect(relevanceColumns(merged)).toEqual(relevanceColumns(reference));
  expect(readFileSync(join(merged, 'fs3.npy')).equals(readFileSync(join(reference, 'fs3.npy')))).toBe(true);
  expect(readdirSync(join(tmp, 'out', 'site'))).toContain('index.html');

  const before = nights();
  const third = nightly();
  expect(third.status, third.stderr).toBe(0);
  expect(third.stdout.trim()).toBe('up to date');
  expect(third.stderr).toMatch(/up to date: nothing to run/);
  expect(nights()).toEqual(before);
  expect(slurm.run('squeue', ['-h']).trim()).toBe('');
}, 1_200_000);
