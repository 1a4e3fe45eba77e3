/**
 * One writer per build folder, and devices that never fall back: real `styleatlas relevance`
 * processes on one --out (the second stops with E_LOCKED naming the first; the first finishes
 * unharmed), a holder killed with SIGKILL whose lock the next run takes over, and --device
 * cuda / webgpu on this machine (no CUDA provider, no Vulkan driver): E_DEVICE, nothing written.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { readRelevanceArrowFile } from '../../pipeline/store/relevance-file.ts';
import { REPO, modelDir } from '../helpers/bundles.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
const args = (out: string) => [
  'relevance', '--generator', modelDir('tiny'), '--encoder', modelDir('colour-world'), '--out', out,
  '--samples', '3', '--stats-samples', '1000', '--chunk', '16', '--batch', '8', '--quiet',
];
const started: ChildProcess[] = [];
afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function start(out: string): { child: ChildProcess; exited: Promise<{ code: number | null; signal: string | null; stderr: string }> } {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'styleatlas.mjs'), ...args(out)], { stdio: ['ignore', 'ignore', 'pipe'] });
  started.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { child, exited };
}

async function until(cond: () => boolean, what: string, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const holder = (out: string) => join(out, 'build.lock.holder');
const cudaLine = /^ONNXRUNTIME_NODE_INSTALL=cuda12 .*$/m.exec(readFileSync(join(REPO, 'README.md'), 'utf8'))![0];

/** Chunks committed so far (0 before the schema exists), read as any reader would. */
function chunksDone(out: string): number {
  try {
    const db = new Database(join(out, 'build.sqlite'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM chunks').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

it('a second relevance on the same folder exits with E_LOCKED naming the first, which finishes unharmed', async () => {
  const reference = join(tmp, 'reference');
  expect(cli(args(reference)).status).toBe(0);

  const out = join(tmp, 'shared');
  const first = start(out);
  // Mid-build, as a requeued task would find it: resuming then used to crash on UNIQUE constraints.
  await until(() => chunksDone(out) >= 1, 'the first process to commit a chunk');
  const second = cli([...args(out), '--resume']);
  expect(second.status).toBe(1);
  expect(second.stderr).toContain(`E_LOCKED: ${out} is being written by pid ${first.child.pid} on ${hostname()}`);
  expect(second.stderr).not.toMatch(/SqliteError|UNIQUE constraint/);
  const done = await first.exited;
  expect(done.code, done.stderr).toBe(0);
  expect(existsSync(holder(out))).toBe(false);
  const a = readRelevanceArrowFile(join(reference, 'relevance.arrow'));
  const b = readRelevanceArrowFile(join(out, 'relevance.arrow'));
  for (const k of ['channel', 'mu', 'sigma', 'effect', 'consistency', 'degenerate', 'direction'] as const) expect(b[k], k).toEqual(a[k]);
  expect(readFileSync(join(out, 'fs3.npy')).equals(readFileSync(join(reference, 'fs3.npy')))).toBe(true);
}, 300_000);

it('the lock of a holder killed with SIGKILL is taken over by the next run, which says so', async () => {
  const out = join(tmp, 'killed');
  const first = start(out);
  await until(() => existsSync(holder(out)), 'the first process to take the lock');
  const pid = first.child.pid!;
  first.child.kill('SIGKILL');
  expect((await first.exited).signal).toBe('SIGKILL');
  expect(JSON.parse(readFileSync(holder(out), 'utf8'))).toMatchObject({ pid, host: hostname() });
  const again = cli([...args(out).filter((a) => a !== '--quiet'), '--resume']);
  expect(again.status, again.stderr).toBe(0);
  expect(again.stderr).toContain(`took over the lock left by pid ${pid} on ${hostname()} (no longer running)`);
  expect(existsSync(join(out, 'relevance.arrow'))).toBe(true);
}, 300_000);

it('--device cuda and webgpu stop with E_DEVICE before anything is written, with no onnxruntime log lines', () => {
  for (const device of ['cuda', 'webgpu']) {
    const out = join(tmp, `on-${device}`);
    const r = cli([...args(out), '--device', device]);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^E_DEVICE: --device ${device} cannot run here: `));
    // The hint gives the README's own CUDA install line, whatever it is.
    if (device === 'cuda') expect(r.stderr).toContain(`hint: install the CUDA provider with \`${cudaLine}\``);
    else expect(r.stderr).toMatch(/hint: webgpu needs a Vulkan loader/);
    expect(r.stderr).not.toMatch(/onnxruntime:|\[E:|Warning:/);
    expect(existsSync(out)).toBe(false);
  }
  const auto = cli([...args(join(tmp, 'on-auto')).filter((a) => a !== '--quiet'), '--device', 'auto', '--json']);
  expect(auto.status, auto.stderr).toBe(0);
  expect(auto.stderr).toMatch(/^device: cpu \(auto: /m);
  expect(JSON.parse(auto.stdout).execution).toMatchObject({ provider: 'cpu', host: hostname() });
}, 300_000);
