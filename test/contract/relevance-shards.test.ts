/**
 * Statistics once, shards anywhere: a stats file gives the same build as statistics computed in
 * the folder; shards run with different thread counts merge into the single build's bytes and
 * the merged provenance lists where each ran; a shard with other statistics (one ulp off, as
 * another machine's float32 mapping gives) is refused; a merge is atomic.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator } from '../../pipeline/models/generator.ts';
import { mergeShards } from '../../pipeline/stages/merge.ts';
import { type RelevanceRun, runRelevanceBuild } from '../../pipeline/stages/relevance-build.ts';
import { writeStyleStats } from '../../pipeline/stages/stats.ts';
import { readRelevanceArrowFile } from '../../pipeline/store/relevance-file.ts';
import { expectCode, relevanceColumns } from '../helpers/builds.ts';
import { encodeStatsFile, readStatsFile } from '../../pipeline/store/stats-file.ts';
import { modelDir } from '../helpers/bundles.ts';
import { python } from '../helpers/python.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
const STATS = { samples: 600, seed: 77, psi: 0.7 };
const config: RelevanceRun['config'] = { samples: 2, alphaP: 5, psi: 0.7, sampleSeed: 3, channelSet: 'conv', chunkChannels: 64, batch: 16 };
const statsPath = join(tmp, 'stats.npz');
const run = (outDir: string, extra: Partial<RelevanceRun> = {}) =>
  runRelevanceBuild({ generatorDir: modelDir('tiny'), encoderDir: modelDir('colour-world'), outDir, config, statsFile: statsPath, resume: false, runtime: {}, ...extra });

let whole: ReturnType<typeof relevanceColumns>;
let statsSha: string;
beforeAll(async () => {
  const gen = await Generator.open(modelDir('tiny'));
  try {
    statsSha = (await writeStyleStats(gen, STATS, statsPath)).file.sha256;
  } finally {
    await gen.release();
  }
  expect((await run(join(tmp, 'whole'))).complete).toBe(true);
  whole = relevanceColumns(join(tmp, 'whole'));
}, 300_000);

describe('the statistics file', () => {
  it('holds μ and σ of a plain two-pass computation, readable by numpy bit for bit', async () => {
    const gen = await Generator.open(modelDir('tiny'));
    const seeds = Array.from({ length: STATS.samples }, (_, i) => STATS.seed + i);
    const codes = await gen.stylesForSeeds(seeds, STATS.psi); // [M, C]
    const C = gen.layout.total;
    await gen.release();
    const st = readStatsFile(statsPath);
    expect(st.sha256).toBe(statsSha);
    expect(st.provenance).toMatchObject({ format: 'styleatlas-stats/1', generator: { id: 'tiny' }, samples: 600, seed: 77, psi: 0.7, channels: C });
    for (const c of [0, 1, 100, C - 1]) {
      let mean = 0;
      for (let n = 0; n < STATS.samples; n++) mean += codes[n * C + c];
      mean /= STATS.samples;
      let v = 0;
      for (let n = 0; n < STATS.samples; n++) v += (codes[n * C + c] - mean) ** 2;
      expect(st.mu[c]).toBeCloseTo(mean, 10);
      expect(st.sigma[c]).toBeCloseTo(Math.sqrt(v / STATS.samples), 10);
    }
    const out = python('import numpy as np, sys, json; z = np.load(sys.argv[1]); print(json.dumps([z["mu"].dtype.str, z["mu"].tobytes().hex()[:64], json.loads(str(z["provenance"]))["samples"]]))', [statsPath]);
    const [dtype, hex, samples] = JSON.parse(out);
    expect(dtype).toBe('<f8');
    expect(hex).toBe(Buffer.from(st.mu.buffer, st.mu.byteOffset, 32).toString('hex'));
    expect(samples).toBe(600);
  });

  it('gives the same build as statistics computed into the folder, and its sha256 is recorded', async () => {
    const own = join(tmp, 'own-stats');
    const s = await run(own, { statsFile: undefined, config: { ...config, statsSamples: STATS.samples, statsSeed: STATS.seed } });
    expect(s.config.statsSha256).toBe(statsSha);
    expect(readFileSync(join(own, 'stats.npz')).equals(readFileSync(statsPath))).toBe(true);
    expect(relevanceColumns(own)).toEqual(whole);
    expect(readRelevanceArrowFile(join(own, 'relevance.arrow')).metadata['styleatlas.stats_sha256']).toBe(statsSha);
  }, 300_000);

  it('is refused when it does not fit the build', async () => {
    await expectCode(run(join(tmp, 'bad-psi'), { config: { ...config, psi: 0.5 } }), 'E_INPUT', /computed at ψ = 0.7, the build uses --psi 0.5/);
    await expectCode(run(join(tmp, 'bad-m'), { config: { ...config, statsSamples: 100 } }), 'E_INPUT', /over 600 samples/);
    await expectCode(run(join(tmp, 'no-file'), { statsFile: join(tmp, 'nope.npz') }), 'E_MISSING', /does not exist/);
    expect(existsSync(join(tmp, 'bad-psi'))).toBe(false);
  });
});

describe('shards on different machines', () => {
  it('shards run with different thread counts merge into the single build, listing where each ran', async () => {
    const dirs = [0, 1, 2].map((i) => join(tmp, `t-shard${i}`));
    for (const [i, d] of dirs.entries()) await run(d, { shard: { index: i, count: 3 }, runtime: { threads: i + 1 } });
    const merged = join(tmp, 't-merged');
    mergeShards(dirs, merged);
    expect(relevanceColumns(merged)).toEqual(whole);
    expect(readFileSync(join(merged, 'fs3.npy')).equals(readFileSync(join(tmp, 'whole', 'fs3.npy')))).toBe(true);
    const db = new Database(join(merged, 'build.sqlite'), { readonly: true });
    const listed = JSON.parse((db.prepare("SELECT value FROM meta WHERE key = 'merged_from'").get() as { value: string }).value);
    const runs = db.prepare('SELECT run, shard, provider, threads, host, onnxruntime, render FROM runs ORDER BY shard').all() as { run: number; shard: string; provider: string; threads: number; host: string; render: string }[];
    const perChunk = db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT run) AS runs FROM chunk_runs').get() as { n: number; runs: number };
    db.close();
    expect(listed.map((s: { shard: string; runs: { threads: number }[]; statsSha256: string }) => [s.shard, s.runs.map((r) => r.threads), s.statsSha256])).toEqual([
      ['0/3', [1], statsSha],
      ['1/3', [2], statsSha],
      ['2/3', [3], statsSha],
    ]);
    expect(runs.map((r) => [r.shard, r.provider, r.threads, r.host])).toEqual([
      ['0/3', 'cpu', 1, hostname()],
      ['1/3', 'cpu', 2, hostname()],
      ['2/3', 'cpu', 3, hostname()],
    ]);
    // Each run records the render graph it used (models/fused.ts): the default, prefix reuse (blocked layout on this CPU).
    for (const r of runs) expect(r.render).toMatch(/^prefix reuse \(onnxruntime NCHWc \(block \d+\) cut at each perturbed layer\): the default \(auto\) on the CPU provider$/);
    expect(perChunk).toEqual({ n: 8, runs: 3 }); // 464 conv channels in chunks of 64, each chunk with its run
    expect(readFileSync(join(merged, 'stats.npz')).equals(readFileSync(statsPath))).toBe(true);
  }, 300_000);

  it('refuses a shard computed with other statistics, even one ulp off, and leaves no --out', async () => {
    const st = readStatsFile(statsPath);
    const mu = Float64Array.from(st.mu);
    const bits = new BigInt64Array(mu.buffer);
    bits[5] += 1n; // what another CPU's float32 mapping can give in the last bit
    const otherStats = join(tmp, 'other-machine.npz');
    writeFileSync(otherStats, encodeStatsFile(st.provenance, mu, st.sigma));
    const other = join(tmp, 'other-shard1');
    await run(other, { statsFile: otherStats, shard: { index: 1, count: 3 } });
    const out = join(tmp, 'm-other');
    await expectCode(() => mergeShards([join(tmp, 't-shard0'), other, join(tmp, 't-shard2')], out), 'E_SHARD', /other style statistics/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp).filter((f) => f.startsWith('m-other'))).toEqual([]);
  }, 300_000);

  it('removes what killed merges left and writes the build in one rename', () => {
    const out = join(tmp, 'm-again');
    const dead = `${out}.tmp-999999999-abcdef`; // no such pid
    mkdirSync(dead);
    mergeShards([0, 1, 2].map((i) => join(tmp, `t-shard${i}`)), out);
    expect(existsSync(dead)).toBe(false);
    expect(readdirSync(out).sort()).toEqual(['build.sqlite', 'fs3.npy', 'relevance.arrow', 'stats.npz']);
    expect(relevanceColumns(out)).toEqual(whole);
  });
});
