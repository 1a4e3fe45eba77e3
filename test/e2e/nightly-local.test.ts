/**
 * `styleatlas nightly` with the local executor, as a user runs it: --dry-run plans and writes
 * nothing; a 2-shard nightly gives the single build's bytes and its catalogue; a second run runs
 * nothing; with a shard gone only that shard (and the finishing step) runs again. Bad configs and
 * a missing sbatch are refused with coded errors before anything is written or submitted.
 */
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { NightRecord } from '../../pipeline/cluster/night.ts';
import { runRelevanceBuild } from '../../pipeline/stages/relevance-build.ts';
import { MODELS, REPO, modelDir } from '../helpers/bundles.ts';
import { relevanceColumns } from '../helpers/builds.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir('styleatlas-nightly-');
const RELEVANCE = { samples: 2, chunk: 64, batch: 16 };
const STATS = { samples: 1000, seed: 5 };
const prompts = join(REPO, 'data', 'prompts', 'colour-world.json');
const build = { id: 'tiny-colour-world', generator: 'tiny', encoder: 'colour-world', shards: 2, relevance: RELEVANCE, stats: STATS, prompts: [prompts] };
const good = { out: 'out', models: MODELS, builds: [build], catalogue: 'out/catalogue', executor: { kind: 'local', parallel: 2, threads: 1 } };

function config(name: string, json: unknown): string {
  const file = join(tmp, name);
  writeFileSync(file, JSON.stringify(json));
  return file;
}
const nightly = (file: string, ...args: string[]) => cli(['nightly', '--config', file, ...args]);
const nights = () => readdirSync(join(tmp, 'out', 'nights')).filter((n) => n !== 'latest');
const night = (name: string) => JSON.parse(readFileSync(join(tmp, 'out', 'nights', name, 'night.json'), 'utf8')) as NightRecord;

let single: ReturnType<typeof relevanceColumns>;
beforeAll(async () => {
  const dir = join(tmp, 'single');
  const s = await runRelevanceBuild({ generatorDir: modelDir('tiny'), encoderDir: modelDir('colour-world'), outDir: dir, config: { alphaP: 5, psi: 0.7, sampleSeed: 0, channelSet: 'conv', chunkChannels: RELEVANCE.chunk, batch: RELEVANCE.batch, samples: RELEVANCE.samples, statsSamples: STATS.samples, statsSeed: STATS.seed }, resume: false, runtime: {} });
  expect(s.complete).toBe(true);
  single = relevanceColumns(dir);
}, 300_000);

describe('nightly, local executor', () => {
  const file = join(tmp, 'nightly.json');
  it('plans without writing, builds the single build\'s bytes, then runs nothing', () => {
    config('nightly.json', good);
    const dry = nightly(file, '--dry-run');
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(/stats {4}run {4}1000 samples/);
    expect(dry.stderr).toMatch(/shards {3}run {4}2 of 2: 0, 1/);
    expect(existsSync(join(tmp, 'out'))).toBe(false);

    const first = nightly(file);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/nightly \[#+\] 100\.0% 8\/8 chunks .* chunks\/s/);
    const rec = night(first.stdout.trim());
    expect(rec.jobs.map((j) => [j.step, j.shards, j.state])).toEqual([
      ['stats', undefined, 'completed'], ['shards', [0], 'completed'], ['shards', [1], 'completed'], ['finish', undefined, 'completed'], ['finish', undefined, 'completed'],
    ]);
    const merged = join(rec.builds[0].dir, 'tiny-colour-world');
    expect(relevanceColumns(merged)).toEqual(single);
    expect(readFileSync(join(merged, 'fs3.npy')).equals(readFileSync(join(tmp, 'single', 'fs3.npy')))).toBe(true);
    expect(existsSync(join(tmp, 'out', 'catalogue', 'catalogue.sqlite'))).toBe(true);

    const status = cli(['nightly', 'status', '--config', file]);
    expect(status.stdout).toMatch(/build tiny-colour-world: 8\/8 chunks \(shards 0:4\/4 1:4\/4\)/);
    expect(status.stdout).toMatch(/ran on cpu .* threads 1/);
    expect(status.stdout).toMatch(/finished: yes/);

    const second = nightly(file);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout.trim()).toBe('up to date');
    expect(nights()).toHaveLength(1);
  }, 600_000);

  it('after a shard is lost, runs only that shard and the finishing step', () => {
    const rec = night(nights()[0]);
    rmSync(join(rec.builds[0].dir, 'shards', '1'), { recursive: true });
    rmSync(join(rec.builds[0].dir, 'tiny-colour-world'), { recursive: true });
    const dry = nightly(file, '--dry-run');
    expect(dry.stderr).toMatch(/stats {4}up to date/);
    expect(dry.stderr).toMatch(/shards {3}run {4}1 of 2: 1\n/);
    const again = nightly(file);
    expect(again.status, again.stderr).toBe(0);
    expect(night(again.stdout.trim()).jobs.map((j) => [j.step, j.shards])).toEqual([['shards', [1]], ['finish', undefined], ['finish', undefined]]);
    expect(relevanceColumns(join(rec.builds[0].dir, 'tiny-colour-world'))).toEqual(single);
  }, 600_000);
});

describe('bad nightly configs', () => {
  it('are refused with the key named, before anything is written or submitted', () => {
    const out = join(tmp, 'bad-out');
    const cases: [unknown, RegExp][] = [
      [{ ...good, out, bogus: 1 }, /E_CONFIG: .*unknown key "bogus"/],
      [{ ...good, out, builds: [{ ...build, generator: 'no-such' }] }, /E_CONFIG: .*key "builds\[0\]\.generator": no bundle .*no-such/],
      [{ ...good, out, builds: [{ ...build, shards: 0 }] }, /E_CONFIG: .*key "builds\[0\]\.shards": expected at least 1 shard, found 0/],
      [{ ...good, out, executor: { kind: 'torque' } }, /E_CONFIG: .*key "executor\.kind": expected one of "local", "slurm", "kubernetes", found "torque"/],
      [{ ...good, out, builds: [{ ...build, prompts: ['missing.json'] }] }, /E_CONFIG: .*key "builds\[0\]\.prompts\[0\]": no prompt file/],
    ];
    for (const [json, message] of cases) {
      const r = nightly(config('bad.json', json));
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    const noSbatch = cli(['nightly', '--config', config('slurm.json', { ...good, out, executor: { kind: 'slurm' } })], { env: { PATH: '/nonexistent' } });
    expect(noSbatch.status).toBe(1);
    expect(noSbatch.stderr).toMatch(/E_SCHEDULER: sbatch is not on PATH/);
    expect(existsSync(out)).toBe(false);
  }, 300_000);
});
