/**
 * `edit --codes` with an inversion's latents.pt, as a user who inverted their photos with e4e runs it.
 * Oracle: the W+ codes of seeds 0 and 1 (what `edit --seeds 0,1` edits), saved by PyTorch as e4e
 * saves them (a tensor) and as a dict of per-image codes, must give the very same PNG bytes as
 * `edit --seeds 0,1`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { latentZ } from '../../pipeline/core/rng.ts';
import { broadcastWs, truncate } from '../../pipeline/core/styles.ts';
import { Generator } from '../../pipeline/models/generator.ts';
import { encodeNpy } from '../../pipeline/store/npy.ts';
import { modelDir } from '../helpers/bundles.ts';
import { cli } from '../helpers/cli.ts';
import { python } from '../helpers/python.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir('styleatlas-edit-codes-');
const build = join(tmp, 'tiny-colour-world');
const PSI = 0.7;
const edit = (input: string[], out: string) =>
  cli(['edit', '--build', build, '--neutral', 'photo', '--target', 'red photo', '--alpha', '-2,0,2', '--out', out, '--no-cache', ...input]);

beforeAll(async () => {
  const r = cli(['relevance', '--generator', modelDir('tiny'), '--encoder', modelDir('colour-world'), '--out', build,
    '--samples', '2', '--stats-samples', '2000', '--psi', String(PSI), '--quiet']);
  expect(r.status, r.stderr).toBe(0);
  const gen = await Generator.open(modelDir('tiny'));
  const { zDim, numWs, wDim } = gen.manifest.architecture;
  const z = new Float32Array(2 * zDim);
  [0, 1].forEach((seed, b) => latentZ(seed, 0, zDim, z.subarray(b * zDim, (b + 1) * zDim)));
  const ws = broadcastWs(truncate(await gen.mapping(z, 2), gen.wAvg, PSI), 2, numWs);
  await gen.release();
  writeFileSync(join(tmp, 'ws.npy'), encodeNpy({ dtype: 'float32', shape: [2, numWs, wDim], data: ws }));
  python(`
import sys, numpy as np, torch
ws = torch.from_numpy(np.load(sys.argv[1] + '/ws.npy'))
torch.save(ws, sys.argv[1] + '/latents.pt')
torch.save({'me.jpg': ws[0], 'you.jpg': ws[1:]}, sys.argv[1] + '/dict.pt')
torch.save(ws[:, :4].clone(), sys.argv[1] + '/other-resolution.pt')
`, [tmp]);
}, 300_000);

it('edits the codes of a latents.pt (a tensor, or a dict of per-image codes) exactly as the seeds they hold', () => {
  const seeds = edit(['--seeds', '0,1'], join(tmp, 'seeds.png'));
  expect(seeds.status, seeds.stderr).toBe(0);
  for (const file of ['latents.pt', 'dict.pt', 'ws.npy']) {
    const r = edit(['--codes', join(tmp, file)], join(tmp, `${file}.png`));
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(tmp, `${file}.png`)).equals(readFileSync(join(tmp, 'seeds.png'))), file).toBe(true);
  }
  expect(edit(['--codes', join(tmp, 'dict.pt')], join(tmp, 'dict2.png')).stderr).toContain('edit: rows are me.jpg, you.jpg');
});

it('refuses codes of another generator and writes no image', () => {
  const out = join(tmp, 'refused.png');
  const r = edit(['--codes', join(tmp, 'other-resolution.pt')], out);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/E_SHAPE: other-resolution\.pt: shape \[2, 4, \d+\] is neither W\+ codes/);
  expect(r.stderr).toMatch(/belong to a generator of another resolution/);
  expect(existsSync(out)).toBe(false);
});
