// Truncated and mutated checkpoints only ever give E_CHECKPOINT errors: no other exception, no
// crash, no hang. The cases run in a child process (test/fixtures/checkpoint/fuzz-runner.ts) with a
// watchdog per case, so a hang or a crash fails this test instead of freezing the runner.
// PyTorch names legacy storages by memory address, so the base files differ a little between runs;
// a failing run keeps its files and prints the command that replays it exactly.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FIXTURE_DIR, makeTempDir, writeFixtures } from '../fixtures/checkpoint/fixtures.ts';

const SEED = 20_240_601;
const CASES_PER_FILE = 700;
const FILES = ['state-zip.pt', 'state-deflated.pt', 'state-legacy.pt', 'state-legacy-p5.pt', 'network-p2.pkl', 'network-p4.pkl', 'scripted.pt', 'train.pt'];
/** The longest one case may take, generous for slow CI machines (cases average under 1 ms). */
const CASE_LIMIT_MS = 5_000;
/** Extra time for the child to start (tsx compiles the reader) before the first case. */
const STARTUP_MS = 20_000;

const tmp = makeTempDir('fuzz');
let passed = false;

beforeAll(() => {
  writeFixtures('state_dict.py', [tmp.dir]);
  writeFixtures('nvidia_pickle.py', [tmp.dir, join(tmp.dir, 'never')]);
});
afterAll(() => {
  if (passed) tmp.remove();
});

interface Case {
  index: number;
  file: string;
  mutation: string;
  outcome: string;
  ms: number;
}

const runnerArgs = () => [
  join(FIXTURE_DIR, '../../../bin/run-ts.mjs'), join(FIXTURE_DIR, 'fuzz-runner.ts'), String(SEED), String(CASES_PER_FILE),
  ...FILES.map((f) => join(tmp.dir, f)),
];

function runFuzz(): Promise<{ cases: Case[]; done: boolean; exit: string; stderr: string; hung: string | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, runnerArgs(), { stdio: ['ignore', 'pipe', 'pipe'] });
    const cases: Case[] = [];
    let done = false;
    let hung: string | null = null;
    let stderr = '';
    let watchdog: NodeJS.Timeout;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        const last = cases[cases.length - 1];
        hung = `no result within ${CASE_LIMIT_MS} ms after case ${last ? `${last.index} (${last.file})` : 'start'}`;
        child.kill('SIGKILL');
      }, cases.length === 0 ? STARTUP_MS + CASE_LIMIT_MS : CASE_LIMIT_MS);
    };
    arm();
    child.stderr.on('data', (d) => (stderr += d));
    createInterface({ input: child.stdout }).on('line', (line) => {
      arm();
      if (line === 'done') return void (done = true);
      const [index, file, mutation, outcome, ms] = line.split('\t');
      cases.push({ index: Number(index), file, mutation, outcome, ms: Number(ms) });
    });
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      resolve({ cases, done, exit: signal ?? String(code), stderr, hung });
    });
  });
}

it(`fuzzed checkpoints (seed ${SEED}) give only E_CHECKPOINT errors, each within ${CASE_LIMIT_MS} ms`, async () => {
  const t0 = performance.now();
  const run = await runFuzz();
  const seconds = (performance.now() - t0) / 1000;
  const replay = `replay: node ${runnerArgs().join(' ')}`;
  expect(run.hung, `${run.hung}; ${replay}`).toBeNull();
  expect(run.exit, `the fuzz process died: ${run.stderr.slice(-2000)}; ${replay}`).toBe('0');
  expect(run.done).toBe(true);
  expect(run.cases.length).toBe(FILES.length * (CASES_PER_FILE + 1));

  // The unmutated files load: the fuzz starts from valid checkpoints.
  const bases = run.cases.filter((c) => c.mutation === 'base');
  expect(bases.map((c) => c.outcome)).toEqual(FILES.map(() => 'ok'));

  const other = run.cases.filter((c) => c.outcome !== 'ok' && c.outcome !== 'E_CHECKPOINT');
  expect(other.slice(0, 5), `${other.length} cases failed otherwise; ${replay}`).toEqual([]);
  const slowest = run.cases.reduce((a, c) => (c.ms > a.ms ? c : a));
  expect(slowest.ms, `case ${slowest.index} (${slowest.file}, ${slowest.mutation})`).toBeLessThan(CASE_LIMIT_MS);

  // The mutations reach the parser: most are refused, some (data bytes) still load.
  const refused = run.cases.filter((c) => c.outcome === 'E_CHECKPOINT').length;
  expect(refused).toBeGreaterThan(run.cases.length / 2);
  for (const file of FILES) {
    expect(run.cases.some((c) => c.file === file && c.outcome === 'E_CHECKPOINT'), file).toBe(true);
  }
  passed = true;
  console.log(`checkpoint fuzz: ${run.cases.length} cases, ${refused} refused, slowest ${slowest.ms.toFixed(1)} ms, ${seconds.toFixed(1)} s in all`);
}, 300_000);
