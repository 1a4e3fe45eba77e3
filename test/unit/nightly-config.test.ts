/** The nightly config's one schema: defaults, and an E_CONFIG naming the key for each bad value. */
import { describe, expect, it } from 'vitest';
import { parseNightlyConfig } from '../../pipeline/cluster/config.ts';
import { arraySpec, parseSacct, parseScontrol, sbatchScript } from '../../pipeline/cluster/slurm.ts';
import { SHARD_INDEX, shellWords } from '../../pipeline/cluster/commands.ts';
import { jobName } from '../../pipeline/cluster/kubernetes.ts';
import { StyleAtlasError } from '../../pipeline/core/errors.ts';

const good = () => ({ out: 'out', builds: [{ id: 'tiny-cw', generator: 'tiny', encoder: 'colour-world', shards: 4 }] });

function refusal(json: unknown): string {
  try {
    parseNightlyConfig(json, 'n.json');
  } catch (e) {
    expect(e).toBeInstanceOf(StyleAtlasError);
    expect((e as StyleAtlasError).code).toBe('E_CONFIG');
    return (e as StyleAtlasError).message;
  }
  throw new Error('accepted');
}

describe('nightly config', () => {
  it('fills in the relevance command\'s defaults and the local executor', () => {
    const c = parseNightlyConfig(good(), '/x/n.json');
    expect(c.dir).toBe('/x');
    expect(c.builds[0].relevance).toEqual({ samples: 100, alphaP: 5, psi: 0.7, seed: 0, channels: 'conv', chunk: 32, batch: 'auto' });
    expect(c.builds[0].stats).toEqual({ samples: 100_000, seed: 1_000_000 });
    expect(c.executor).toEqual({ kind: 'local', parallel: 1, device: 'cpu', threads: 0 });
    expect(c.catalogue).toBeNull();
  });

  it('names the key of every bad value', () => {
    expect(refusal({ ...good(), shard: 3 })).toBe('n.json: unknown key "shard" (known here: out, models, builds, catalogue, site, executor)');
    expect(refusal({ ...good(), builds: [{ ...good().builds[0], relevance: { sampels: 3 } }] })).toMatch(/unknown key "builds\[0\]\.relevance\.sampels" \(known here: samples, alphaP/);
    expect(refusal({ ...good(), builds: [{ ...good().builds[0], shards: 0 }] })).toBe('n.json: key "builds[0].shards": expected at least 1 shard, found 0');
    expect(refusal({ ...good(), executor: { kind: 'pbs' } })).toBe('n.json: key "executor.kind": expected one of "local", "slurm", "kubernetes", found "pbs"');
    expect(refusal({ ...good(), executor: { kind: 'slurm', gres: 'gpu:1' } })).toMatch(/unknown key "executor\.gres" \(known here: kind, partition, account, time, gpus/);
    expect(refusal({ ...good(), executor: { kind: 'slurm', options: ['qos=high'] } })).toMatch(/key "executor\.options\[0\]": expected an option such as "--qos=high"/);
    expect(refusal({ ...good(), builds: [{ ...good().builds[0], relevance: { batch: 3 } }] })).toMatch(/key "builds\[0\]\.relevance\.batch"/);
    expect(refusal({ ...good(), builds: [good().builds[0], good().builds[0]] })).toMatch(/key "builds\[1\]\.id": "tiny-cw" is used by an earlier build/);
    expect(refusal({ ...good(), site: 'site' })).toMatch(/key "site": a site needs a "catalogue" folder/);
    expect(refusal({ builds: good().builds })).toBe('n.json: key "out": expected string (the key is required), found nothing');
  });
});

describe('scheduler text', () => {
  it('writes array specs, shell words and sbatch headers as sbatch and sh read them', () => {
    expect(arraySpec([0, 1, 2, 3])).toBe('0-3');
    expect(arraySpec([1, 3, 4, 7])).toBe('1,3-4,7');
    expect(shellWords(['relevance', '--shard', `${SHARD_INDEX}/4`, '--out', `/a b/shards/${SHARD_INDEX}`], 'SLURM_ARRAY_TASK_ID')).toBe(`relevance --shard "$SLURM_ARRAY_TASK_ID"'/4' --out '/a b/shards/'"$SLURM_ARRAY_TASK_ID"`);
    expect(shellWords(["it's"])).toBe(`'it'\\''s'`);
    const ex = parseNightlyConfig({ ...good(), executor: { kind: 'slurm', partition: 'gpu', account: 'lab', time: '04:00:00', gpus: 2, maxParallel: 3, options: ['--qos=high'] } }, 'n.json').executor;
    const text = sbatchScript(ex as never, { name: 'styleatlas-x-shards', output: '/n/logs/x-%a.log', chdir: '/n', array: '0-7', killOnInvalidDep: true, lines: ['exec true'] });
    expect(text.split('\n').filter((l) => l.startsWith('#SBATCH'))).toEqual([
      '#SBATCH --job-name=styleatlas-x-shards', '#SBATCH --output=/n/logs/x-%a.log', '#SBATCH --open-mode=append', '#SBATCH --requeue', '#SBATCH --chdir=/n',
      '#SBATCH --array=0-7%3', '#SBATCH --kill-on-invalid-dep=yes', '#SBATCH --partition=gpu', '#SBATCH --account=lab', '#SBATCH --time=04:00:00', '#SBATCH --gres=gpu:2', '#SBATCH --qos=high',
    ]);
  });

  it('reads job states from scontrol and sacct output', () => {
    const scontrol = 'JobId=4 ArrayJobId=1 ArrayTaskId=1 JobName=x JobState=CANCELLED Reason=None ExitCode=0:15\nJobId=1 ArrayJobId=1 ArrayTaskId=2-3%2 JobState=PENDING Reason=JobArrayTaskLimit ExitCode=0:0\n';
    expect(parseScontrol(scontrol)).toEqual([
      { id: '1_1', state: 'CANCELLED', reason: 'None', exitCode: '0:15' },
      { id: '1_2-3%2', state: 'PENDING', reason: 'JobArrayTaskLimit', exitCode: '0:0' },
    ]);
    expect(parseSacct('12_0|COMPLETED|0:0|None\n12_1|CANCELLED by 0|0:9|None\n13|PENDING|0:0|Dependency\n')).toEqual([
      { id: '12_0', state: 'COMPLETED', exitCode: '0:0', reason: 'None' },
      { id: '12_1', state: 'CANCELLED', exitCode: '0:9', reason: 'None' },
      { id: '13', state: 'PENDING', exitCode: '0:0', reason: 'Dependency' },
    ]);
  });

  it('names Kubernetes Jobs with DNS labels of at most 63 characters', () => {
    expect(jobName('tiny_cw.2', 'shards', '2026-12-02T16-40-00-000Z')).toBe('sa-tiny-cw-2-shards-20261202164000');
    expect(jobName('x'.repeat(80), 'finish', '2026-12-02T16-40-00-000Z').length).toBeLessThanOrEqual(63);
  });
});
