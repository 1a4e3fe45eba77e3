/** kill -9 in the middle of a real `styleatlas relevance` run, then --resume: the same bytes. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { readRelevanceArrowFile } from '../../pipeline/store/relevance-file.ts';
import { REPO, modelDir } from '../helpers/bundles.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
const args = (out: string) => [
  'relevance', '--generator', modelDir('tiny'), '--encoder', modelDir('colour-world'), '--out', out,
  '--samples', '3', '--stats-samples', '1000', '--chunk', '16', '--batch', '8', '--quiet',
];

function chunksDone(out: string): number {
  const p = join(out, 'build.sqlite');
  if (!existsSync(p)) return 0;
  try {
    const db = new Database(p, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM chunks').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // schema not created yet
  }
}

it('a build killed with SIGKILL resumes to the same result as an uninterrupted one', async () => {
  const whole = join(tmp, 'whole');
  expect(cli(args(whole)).status).toBe(0);

  const killed = join(tmp, 'killed');
  const child = spawn(process.execPath, [join(REPO, 'bin', 'styleatlas.mjs'), ...args(killed)], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal ? -1 : _code)));
  const deadline = Date.now() + 120_000;
  while (chunksDone(killed) < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  expect(await exited).toBe(-1);
  const done = chunksDone(killed);
  expect(done).toBeGreaterThanOrEqual(4);
  expect(done).toBeLessThan(29); // 464 channels / 16: it really was stopped part-way
  expect(existsSync(join(killed, 'relevance.arrow'))).toBe(false);

  const again = cli(args(killed));
  expect(again.status).toBe(1);
  expect(again.stderr).toMatch(/E_RESUME: .* already holds a build/);
  const resumed = cli([...args(killed), '--resume']);
  expect(resumed.status, resumed.stderr).toBe(0);

  const a = readRelevanceArrowFile(join(whole, 'relevance.arrow'));
  const b = readRelevanceArrowFile(join(killed, 'relevance.arrow'));
  for (const k of ['channel', 'mu', 'sigma', 'effect', 'consistency', 'degenerate', 'direction'] as const) expect(b[k], k).toEqual(a[k]);
  for (const f of ['relevance.arrow', 'fs3.npy']) expect(readFileSync(join(killed, f)).equals(readFileSync(join(whole, f))), f).toBe(true);
}, 300_000);
