/**
 * `styleatlas mapper train` as a user runs it: kill -9 in the middle of training, then --resume,
 * ends with the weights (and every other output) of an uninterrupted run, byte for byte; bad inputs
 * are coded errors that leave nothing behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeNpz } from '../../pipeline/store/npz.ts';
import { encodeNpy } from '../../pipeline/store/npy.ts';
import { REPO, modelDir } from '../helpers/bundles.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
const BASE: Record<string, string | undefined> = {
  '--generator': modelDir('tiny'), '--encoder': modelDir('colour-world'), '--target': 'a blue photo',
  '--steps': '80', '--train-seeds': '10000-10063', '--test-seeds': '1000-1007', '--checkpoint-every': '5',
};
/** The command with BASE's options, changed or removed (undefined) by `over`; bare flags after them. */
const args = (out: string, over: Record<string, string | undefined> = {}, flags: string[] = []) => [
  'mapper', 'train', '--out', out, '--quiet',
  ...Object.entries({ ...BASE, ...over }).flatMap(([k, v]) => (v === undefined ? [] : [k, v])),
  ...flags,
];

function checkpointStep(out: string): number {
  const p = join(out, 'checkpoint.npz');
  if (!existsSync(p)) return 0;
  const s = decodeNpz(readFileSync(p)).get('state');
  return s?.dtype === 'unicode' ? (JSON.parse(s.text) as { step: number }).step : 0;
}

const OUTPUTS = ['mapper.safetensors', 'mapper.onnx', 'loss.json', 'scores.json', 'heldout.png', 'provenance.json', 'checkpoint.npz'];

describe('mapper train', () => {
  it('killed with SIGKILL, then --resume: the same weights and outputs as an uninterrupted run', async () => {
    const whole = join(tmp, 'whole');
    const r = cli(args(whole));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join(whole, 'mapper.safetensors'));

    const killed = join(tmp, 'killed');
    const child = spawn(process.execPath, [join(REPO, 'bin', 'styleatlas.mjs'), ...args(killed)], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ? -1 : code)));
    const deadline = Date.now() + 120_000;
    while (checkpointStep(killed) < 20 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    child.kill('SIGKILL');
    expect(await exited).toBe(-1);
    const at = checkpointStep(killed);
    expect(at).toBeGreaterThanOrEqual(20);
    expect(at).toBeLessThan(80); // really stopped part-way
    expect(existsSync(join(killed, 'mapper.safetensors'))).toBe(false);
    expect(readdirSync(killed).filter((f) => f.includes('.tmp-'))).toEqual([]);

    const again = cli(args(killed));
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/E_RESUME: .* already holds a mapper training run \(checkpoint at step \d+\)/);
    const otherLr = cli(args(killed, { '--lr': '0.4' }, ['--resume']));
    expect(otherLr.status).toBe(1);
    expect(otherLr.stderr).toMatch(/E_RESUME: .* trained with other inputs/);

    const resumed = cli(args(killed, {}, ['--resume']));
    expect(resumed.status, resumed.stderr).toBe(0);
    for (const f of OUTPUTS) expect(readFileSync(join(killed, f)).equals(readFileSync(join(whole, f))), f).toBe(true);
    const run = JSON.parse(readFileSync(join(killed, 'run.json'), 'utf8'));
    expect(run.resumedAt).toBe(at);
    expect(run.stepsRun).toBe(80 - at);
  }, 600_000);

  it('refuses bad inputs with coded errors and writes nothing', () => {
    const bad = join(tmp, 'bad-codes.npy');
    writeFileSync(bad, encodeNpy({ dtype: 'float32', shape: [4, 7, 64], data: new Float32Array(4 * 7 * 64) }));
    const fromFile = { '--train-seeds': undefined, '--test-seeds': undefined, '--codes': bad, '--test-codes': bad };
    const cases: [Record<string, string | undefined>, string[], RegExp][] = [
      [{ '--target': '' }, [], /E_PROMPT: the target prompt is empty/],
      [{ '--target': 'photo '.repeat(80) }, [], /E_PROMPT: prompt .* over the limit of 77/],
      [{ '--steps': '0' }, [], /E_INPUT: steps must be a positive integer/],
      [{ '--lr': '-1' }, [], /E_INPUT: the learning rate must be a positive number/],
      [{ '--lambda-id': '0.1' }, [], /E_INPUT: λ_ID is 0.1 but no identity network was given/],
      [{ '--identity': modelDir('tiny') }, [], /E_MANIFEST: .*kind/],
      [{ '--train-seeds': '1000-1100' }, [], /E_INPUT: --test-seeds and --train-seeds share 8 seeds/],
      [{}, ['--resume'], /E_RESUME: .* holds no mapper checkpoint to resume/],
      [{ ...fromFile, '--train-seeds': '1' }, [], /E_USAGE: give --codes\/--test-codes or --train-seeds\/--test-seeds, not both/],
      [{ ...fromFile, '--test-codes': undefined }, [], /E_USAGE: --codes and --test-codes go together/],
      [fromFile, [], /E_SHAPE: bad-codes\.npy: shape \[4, 7, 64\] is neither W\+ codes \[K, 10, 64\]/],
    ];
    for (const [over, flags, message] of cases) {
      const out = join(tmp, 'refused');
      const what = JSON.stringify(over) + flags.join(' ');
      const r = cli(args(out, over, flags));
      expect(r.status, `${what}: ${r.stderr}`).not.toBe(0);
      expect(r.stderr, what).toMatch(message);
      expect(existsSync(out), what).toBe(false);
    }
  }, 300_000);
});
