/**
 * The catalogue and edit commands as a user runs them, on tiny + tiny-clip with the faces
 * prompts; the published downloads read back in NumPy (and an independent safetensors reader).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, expect, it } from 'vitest';
import { CatalogueDb } from '../../pipeline/store/catalogue-db.ts';
import { decodeRGB } from '../../pipeline/store/images.ts';
import { readRelevanceArrowFile } from '../../pipeline/store/relevance-file.ts';
import { REPO, modelDir } from '../helpers/bundles.ts';
import { cli } from '../helpers/cli.ts';
import { python } from '../helpers/python.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
const build = join(tmp, 'tiny-tiny-clip');
const cat = join(tmp, 'catalogue');

beforeAll(() => {
  const r = cli(['relevance', '--generator', modelDir('tiny'), '--encoder', modelDir('tiny-clip'), '--out', build, '--samples', '2', '--stats-samples', '2000', '--quiet']);
  expect(r.status, r.stderr).toBe(0);
  const c = cli(['catalogue', '--build', build, '--prompts', join(REPO, 'data', 'prompts', 'faces.json'), '--out', cat, '--no-cache', '--quiet', '--columns', '5']);
  expect(c.status, c.stderr).toBe(0);
  expect(c.stderr).toMatch(/faces on tiny-tiny-clip: \d+ computed, 0 unchanged/);
}, 300_000);

it('finds "smiling" by typing "smil", and a rerun recomputes nothing', () => {
  const db = new CatalogueDb(join(cat, 'catalogue.sqlite'));
  const hits = db.searchPrompts('smil');
  expect(hits.length).toBeGreaterThan(0);
  const targets = new Database(join(cat, 'catalogue.sqlite'), { readonly: true }).prepare('SELECT target FROM directions WHERE id = ?');
  for (const h of hits) expect((targets.get(h.id) as { target: string }).target.toLowerCase()).toContain('smil');
  db.close();
  const again = cli(['catalogue', '--build', build, '--prompts', join(REPO, 'data', 'prompts', 'faces.json'), '--out', cat, '--no-cache', '--quiet', '--columns', '5']);
  expect(again.stderr).toMatch(/0 computed, \d+ unchanged, 0 removed/);
});

it('runs from any folder: a shipped prompt catalogue by name comes from the package, paths from the current folder', () => {
  const elsewhere = join(tmp, 'elsewhere');
  mkdirSync(elsewhere);
  const args = ['catalogue', '--build', build, '--out', 'cat', '--models-dir', join(REPO, 'models'), '--no-cache', '--quiet', '--columns', '3'];
  const byName = cli([...args, '--prompts', 'faces'], { cwd: elsewhere });
  expect(byName.status, byName.stderr).toBe(0);
  expect(byName.stderr).toMatch(/faces on tiny-tiny-clip: \d+ computed/);
  expect(existsSync(join(elsewhere, 'cat', 'catalogue.sqlite'))).toBe(true); // --out: the current folder
  // A path is the user's, relative to where they are: the README's data/prompts/… is not here.
  const byPath = cli([...args, '--prompts', 'data/prompts/faces.json'], { cwd: elsewhere });
  expect(byPath.stderr).toMatch(/^E_MISSING: prompt file .*elsewhere\/data\/prompts\/faces\.json cannot be read \(ENOENT\)\n {2}hint: .*named without a path: colour-world, faces/);
  const unknown = cli([...args, '--prompts', 'no-such-set'], { cwd: elsewhere });
  expect(unknown.stderr).toMatch(/^E_MISSING: no shipped prompt catalogue is named "no-such-set"\n {2}hint: the shipped ones are colour-world, faces; a file of your own needs its path/);
});

it('fs3.npy, and each direction as .npz / .safetensors / .json, read back with the same values', () => {
  const t = readRelevanceArrowFile(join(cat, 'assets', 'builds', 'tiny-tiny-clip', 'relevance.arrow'));
  const db = new Database(join(cat, 'catalogue.sqlite'), { readonly: true });
  const d = db.prepare("SELECT id, slug, files FROM directions WHERE active_channels > 0 ORDER BY slug LIMIT 1").get() as { id: number; slug: string; files: string };
  const files = JSON.parse(d.files) as Record<string, string>;
  const channels = db.prepare('SELECT channel, delta_s FROM direction_channels WHERE direction_id = ?').all(d.id) as { channel: number; delta_s: number }[];
  db.close();
  const out = JSON.parse(
    python(
      `
import sys, json, struct, numpy as np
fs3 = np.load(sys.argv[1])
npz = np.load(sys.argv[2])
meta = json.loads(str(npz['__metadata__']))
flat = np.concatenate([npz[l['name']] for l in meta['layers']])
with open(sys.argv[3], 'rb') as f:
    n = struct.unpack('<Q', f.read(8))[0]
    header = json.loads(f.read(n))
    body = f.read()
st = np.concatenate([np.frombuffer(body[header[l['name']]['data_offsets'][0]:header[l['name']]['data_offsets'][1]], dtype='<f4') for l in meta['layers']])
print(json.dumps({'fs3_shape': list(fs3.shape), 'fs3_dtype': str(fs3.dtype), 'fs3': fs3.astype(np.float64).tolist(), 'fs3_norms': np.linalg.norm(fs3.astype(np.float64), axis=1).tolist(), 'npz': [float(v) for v in flat], 'st_equal': bool(np.array_equal(flat, st)), 'beta': meta['beta'], 'target': meta['target']}))
`,
      [join(cat, 'assets', 'builds', 'tiny-tiny-clip', 'fs3.npy'), join(cat, files.npz), join(cat, files.safetensors)],
    ),
  );
  expect(out.fs3_shape).toEqual([t.rows, t.dim]);
  expect(out.fs3_dtype).toBe('float32');
  // Row by row, every value as NumPy reads it equals relevance.arrow's direction (float32 → float64
  // is exact, and JSON carries a float64 exactly): a swapped, shifted or damaged row cannot hide
  // in a sum. And every row is a unit vector, as Δi_c is.
  for (let row = 0; row < t.rows; row++) {
    expect(out.fs3[row], `fs3 row ${row}`).toEqual(Array.from(t.direction.subarray(row * t.dim, (row + 1) * t.dim)));
    expect(out.fs3_norms[row], `‖fs3 row ${row}‖`).toBeCloseTo(1, 5);
  }
  expect(out.st_equal).toBe(true);
  for (const c of channels) expect(out.npz[c.channel]).toBeCloseTo(c.delta_s, 6);
  expect(out.npz.filter((v: number) => v !== 0).length).toBeLessThanOrEqual(channels.length);
  const json = JSON.parse(readFileSync(join(cat, files.json), 'utf8'));
  expect(json.active.length).toBe(out.npz.filter((v: number) => v !== 0).length);
});

it('edit renders a grid of samples × α, and refuses an α list that does not parse', async () => {
  const png = join(tmp, 'edit.png');
  const ok = cli(['edit', '--build', build, '--neutral', 'face', '--target', 'smiling face', '--seeds', '0-2', '--alpha', '-4,0,4', '--out', png, '--scale', '1', '--no-cache']);
  expect(ok.status, ok.stderr).toBe(0);
  const img = await decodeRGB(readFileSync(png));
  expect([img.width, img.height]).toEqual([3 * 64 + 4 * 2, 3 * 64 + 4 * 2]);
  const bad = cli(['edit', '--build', build, '--neutral', 'face', '--target', 'smiling face', '--alpha', '1,two', '--out', join(tmp, 'bad.png')]);
  expect(bad.status).toBe(1);
  expect(bad.stderr).toMatch(/E_INPUT: --alpha: "two" is not a number/);
  const beta = cli(['edit', '--build', build, '--neutral', 'face', '--target', 'smiling face', '--beta', '2', '--out', join(tmp, 'bad.png')]);
  expect(beta.stderr).toMatch(/E_INPUT: --beta: 2 is outside \[0, 1\]/);
});
