// Checkpoints whose pickles run a shell command are refused, and the command never runs.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint, readNvidiaPickle } from '../../pipeline/models/checkpoint/index.ts';
import { PYTHON, makeTempDir, writeFixtures } from '../fixtures/checkpoint/fixtures.ts';
import { thrownBy } from '../helpers/errors.ts';

const tmp = makeTempDir('malicious');
const marker = join(tmp.dir, 'payload-ran');
const controlMarker = join(tmp.dir, 'control-payload-ran');

beforeAll(() => writeFixtures('malicious.py', [tmp.dir, marker, controlMarker]));
afterAll(() => tmp.remove());


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
    ['script-system.pt', 'posix.system'],
    ['script-attribute.pt', 'posix.system'],
    ['script-eval.pt', '__builtin__.eval'],
    ['script-called.pt', '__torch__.Linear (called)'],
    ['plain-torch-class.pt', '__torch__.Linear'],
  ])('%s is refused naming %s, and nothing runs', (file, global) => {
    const e = thrownBy(() => readCheckpoint(readFileSync(join(tmp.dir, file))));
    expect(e.code).toBe('E_CHECKPOINT');
    expect(e.message).toBe(`refusing global ${global}: checkpoints may only contain tensors and plain containers`);
    expect(e.hint).toMatch(/Nothing in the file was run/);
    expect(existsSync(marker)).toBe(false);
  });

  it('carry a live payload inside a TorchScript module object too: Python runs the control', () => {
    rmSync(controlMarker, { force: true });
    const script = 'import pickle, sys, types; sys.modules["__torch__"] = types.ModuleType("__torch__"); ' +
      'sys.modules["__torch__"].Linear = type("Linear", (), {}); pickle.load(open(sys.argv[1], "rb"))';
    const r = spawnSync(PYTHON, ['-c', script, join(tmp.dir, 'script-control.pkl')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(controlMarker)).toBe(true);
  });

  it('refuses INST, which imports and calls in one opcode', () => {
    const e = thrownBy(() => readCheckpoint(readFileSync(join(tmp.dir, 'inst.pkl'))));
    expect(e.code).toBe('E_CHECKPOINT');
    expect(e.message).toMatch(/^refusing INST os\.system:/);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses the payload through the NVIDIA network reader too', () => {
    const e = thrownBy(() => readNvidiaPickle(readFileSync(join(tmp.dir, 'system-p4.pkl'))));
    expect(e.message).toMatch(/^refusing global posix\.system/);
    expect(existsSync(marker)).toBe(false);
  });
});
