// Checkpoints whose pickles run a shell command are refused, and the command never runs.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StyleAtlasError } from '../../pipeline/core/errors.ts';
import { readCheckpoint, readNvidiaPickle } from '../../pipeline/models/checkpoint/index.ts';
import { PYTHON, makeTempDir, writeFixtures } from '../fixtures/checkpoint/fixtures.ts';

const tmp = makeTempDir('malicious');
const marker = join(tmp.dir, 'payload-ran');
const controlMarker = join(tmp.dir, 'control-payload-ran');

beforeAll(() => writeFixtures('malicious.py', [tmp.dir, marker, controlMarker]));
afterAll(() => tmp.remove());

function refusal(f: () => unknown): StyleAtlasError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(StyleAtlasError);
    return e as StyleAtlasError;
  }
  throw new Error('the malicious checkpoint was accepted');
}

describe('malicious checkpoints', () => {
  it('carry a live payload: Python itself runs the control file', () => {
    expect(existsSync(controlMarker)).toBe(false);
    const r = spawnSync(PYTHON, ['-c', 'import pickle, sys; pickle.load(open(sys.argv[1], "rb"))', join(tmp.dir, 'control.pkl')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(controlMarker)).toBe(true);
  });

  it.each([
    ['control.pkl', 'posix.system'],
    ['system-p2.pkl', 'posix.system'],
    ['system-p4.pkl', 'posix.system'],
    ['system-zip.pt', 'posix.system'],
    ['system-legacy.pt', 'posix.system'],
    ['nested-storage.pkl', 'posix.system'],
    ['eval.pkl', 'builtins.eval'],
  ])('%s is refused naming %s, and nothing runs', (file, global) => {
    const e = refusal(() => readCheckpoint(readFileSync(join(tmp.dir, file))));
    expect(e.code).toBe('E_CHECKPOINT');
    expect(e.message).toBe(`refusing global ${global}: checkpoints may only contain tensors and plain containers`);
    expect(e.hint).toMatch(/Nothing in the file was run/);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses INST, which imports and calls in one opcode', () => {
    const e = refusal(() => readCheckpoint(readFileSync(join(tmp.dir, 'inst.pkl'))));
    expect(e.code).toBe('E_CHECKPOINT');
    expect(e.message).toMatch(/^refusing INST os\.system:/);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses the payload through the NVIDIA network reader too', () => {
    const e = refusal(() => readNvidiaPickle(readFileSync(join(tmp.dir, 'system-p4.pkl'))));
    expect(e.message).toMatch(/^refusing global posix\.system/);
    expect(existsSync(marker)).toBe(false);
  });
});
