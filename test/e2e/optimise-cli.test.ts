/**
 * `styleatlas optimise` as a user runs it (tiny generator, colour-world encoder): the outputs it
 * promises, bit-for-bit repeatable codes, and bad inputs refused with a coded error and nothing written.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeRGB } from '../../pipeline/store/images.ts';
import { decodeNpy, encodeNpy } from '../../pipeline/store/npy.ts';
import { modelDir } from '../helpers/bundles.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
const base = ['optimise', '--generator', modelDir('tiny'), '--encoder', modelDir('colour-world')];
const run = (out: string, extra: string[] = []) => cli([...base, '--target', 'a red photo', '--seeds', '0-1', '--steps', '30', '--out', out, ...extra]);

describe('optimise', () => {
  it('writes W+ and S codes, before/after images, the loss curve and provenance', async () => {
    const out = join(tmp, 'red');
    const r = run(out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(out);
    expect(r.stderr).toMatch(/identity loss off \(λ_ID = 0, no --identity bundle\)/);
    expect(r.stderr).toMatch(/steps\/s/);
    expect(r.stderr).toMatch(/sample 1: D_CLIP \d\.\d+ → \d\.\d+/);
    expect(readdirSync(out).sort()).toEqual(
      ['after-0.png', 'after-1.png', 'before-0.png', 'before-1.png', 'comparison.png', 'loss.json', 'loss.svg', 'provenance.json', 'run.json', 's.npy', 'ws.npy', 'ws_start.npy'].sort(),
    );
    const ws = decodeNpy(readFileSync(join(out, 'ws.npy')));
    expect(ws.shape).toEqual([2, 10, 64]);
    const tinyChannels = JSON.parse(readFileSync(join(modelDir('tiny'), 'manifest.json'), 'utf8')).layers.reduce((s: number, l: { channels: number }) => s + l.channels, 0);
    expect(decodeNpy(readFileSync(join(out, 's.npy'))).shape).toEqual([2, tinyChannels]);
    const loss = JSON.parse(readFileSync(join(out, 'loss.json'), 'utf8'));
    expect(loss.curve).toHaveLength(31);
    expect(loss.curve[0]).toMatchObject({ step: 0, lr: 0 });
    expect(loss.curve[30].loss[0]).toBeLessThan(loss.curve[0].loss[0]);
    expect(readFileSync(join(out, 'loss.svg'), 'utf8')).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const prov = JSON.parse(readFileSync(join(out, 'provenance.json'), 'utf8'));
    expect(prov).toMatchObject({ target: 'a red photo', generator: { id: 'tiny' }, encoder: { id: 'colour-world' }, start: { kind: 'seeds', seeds: [0, 1], psi: 0.7 } });
    expect(prov.settings).toMatchObject({ steps: 30, lr: 0.1, lambdaL2: 0.008, lambdaId: 0 });
    const grid = await decodeRGB(readFileSync(join(out, 'comparison.png')));
    // One row per code, before | after: 64 px tiles, 2 px gaps, enlarged 2× (tiny is below 128 px).
    expect([grid.width, grid.height]).toEqual([2 * (2 * 64 + 3 * 2), 2 * (2 * 64 + 3 * 2)]);
  }, 300_000);

  it('gives the same codes bit for bit when run again, and starts from given codes', () => {
    const again = join(tmp, 'red-again');
    expect(run(again).status).toBe(0);
    for (const f of ['ws.npy', 's.npy', 'ws_start.npy', 'loss.json']) {
      expect(readFileSync(join(again, f)).equals(readFileSync(join(tmp, 'red', f))), f).toBe(true);
    }
    // The start codes written by the first run, given back as --codes, reproduce it.
    const fromCodes = join(tmp, 'from-codes');
    const r = cli([...base, '--target', 'a red photo', '--codes', join(tmp, 'red', 'ws_start.npy'), '--steps', '30', '--out', fromCodes]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(fromCodes, 'ws.npy')).equals(readFileSync(join(tmp, 'red', 'ws.npy')))).toBe(true);
    expect(JSON.parse(readFileSync(join(fromCodes, 'provenance.json'), 'utf8')).start).toMatchObject({ kind: 'codes' });
  }, 300_000);

  it('adds the identity term with --identity and --lambda-id, and says when an identity bundle goes unused', () => {
    const out = join(tmp, 'with-id');
    const r = run(out, ['--identity', modelDir('tiny-ir-se'), '--lambda-id', '0.5']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/identity loss on \(λ_ID 0\.5, tiny-ir-se\)/);
    expect(r.stderr).toMatch(/L_ID \d\.\d+/);
    expect(JSON.parse(readFileSync(join(out, 'provenance.json'), 'utf8'))).toMatchObject({ identity: { id: 'tiny-ir-se' }, settings: { lambdaId: 0.5 } });
    const curve = JSON.parse(readFileSync(join(out, 'loss.json'), 'utf8')).curve;
    expect(curve[0].id).toHaveLength(2);
    expect(curve[30].id[0]).toBeGreaterThan(0);
    const unused = cli([...base, '--target', 'a red photo', '--steps', '2', '--identity', modelDir('tiny-ir-se'), '--out', join(tmp, 'id-unused')]);
    expect(unused.status, unused.stderr).toBe(0);
    expect(unused.stderr).toMatch(/identity loss off \(λ_ID = 0: .* is not used; give --lambda-id to use it\)/);
    expect(JSON.parse(readFileSync(join(tmp, 'id-unused', 'provenance.json'), 'utf8')).identity).toBeNull();
  }, 300_000);

  describe('bad inputs: a coded error, nothing written', () => {
    const wrongShape = join(tmp, 'wrong-shape.npy');
    const nan = join(tmp, 'nan.npy');
    writeFileSync(wrongShape, encodeNpy({ dtype: 'float32', shape: [1, 7, 64], data: new Float32Array(7 * 64) }));
    const nanData = new Float32Array(10 * 64);
    nanData[3] = Number.NaN;
    writeFileSync(nan, encodeNpy({ dtype: 'float32', shape: [1, 10, 64], data: nanData }));
    const cases: [string, string[], string, RegExp][] = [
      ['an empty target', ['--target', '  '], 'E_PROMPT', /target prompt is empty/],
      ['an over-long target', ['--target', Array.from({ length: 80 }, () => 'red').join(' ')], 'E_PROMPT', /over the limit of 77/],
      ['codes of the wrong shape', ['--target', 'red', '--codes', wrongShape], 'E_SHAPE', /neither W\+ codes \[K, 10, 64\]/],
      ['NaN codes', ['--target', 'red', '--codes', nan], 'E_NUMERIC', /NaN/],
      ['λ_L2 < 0', ['--target', 'red', '--lambda-l2', '-0.1'], 'E_INPUT', /λ_L2 must be a number ≥ 0/],
      ['λ_ID < 0', ['--target', 'red', '--lambda-id', '-1'], 'E_INPUT', /λ_ID must be a number ≥ 0/],
      ['λ_ID > 0 without an identity bundle', ['--target', 'red', '--lambda-id', '0.1'], 'E_INPUT', /no identity network was given/],
      ['a missing identity bundle', ['--target', 'red', '--lambda-id', '0.1', '--identity', join(tmp, 'no-such-bundle')], 'E_MISSING', /does not exist/],
      ['a generator given as the identity bundle', ['--target', 'red', '--lambda-id', '0.1', '--identity', modelDir('tiny')], 'E_MANIFEST', /expected "identity", found "generator"/],
      ['zero steps', ['--target', 'red', '--steps', '0'], 'E_INPUT', /steps must be a positive integer/],
      ['seeds and codes together', ['--target', 'red', '--seeds', '1', '--codes', wrongShape], 'E_USAGE', /not both/],
      ['no target', [], 'E_USAGE', /--target is required/],
    ];
    for (const [what, args, code, message] of cases) {
      it(what, () => {
        const out = join(tmp, `bad-${what.replace(/\W+/g, '-')}`);
        const r = cli([...base, '--out', out, ...args]);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain(code);
        expect(r.stderr).toMatch(message);
        expect(existsSync(out)).toBe(false);
        expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
      });
    }

    it('a non-empty --out folder without --force, left as it was', () => {
      const before = readdirSync(join(tmp, 'red')).sort();
      const r = cli([...base, '--target', 'blue', '--steps', '2', '--out', join(tmp, 'red')]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/E_INPUT.*exists and is not empty/);
      expect(readdirSync(join(tmp, 'red')).sort()).toEqual(before);
    });
  });

  it('has --help', () => {
    const r = cli(['optimise', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--lambda-l2 X/);
    expect(r.stdout).toMatch(/run_optimization\.py/);
  });
});
