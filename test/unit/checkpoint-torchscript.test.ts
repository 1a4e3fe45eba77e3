// TorchScript archives and training checkpoints written by PyTorch itself, read as data.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InertObject, Tensor, flattenTensors, parseScriptDeclarations, readCheckpoint, scriptStateDict,
} from '../../pipeline/models/checkpoint/index.ts';
import type { PyDict } from '../../pipeline/models/checkpoint/index.ts';
import { makeTempDir, writeFixtures } from '../fixtures/checkpoint/fixtures.ts';
import { thrownBy } from '../helpers/errors.ts';

interface ExpectedTensor {
  dtype: string;
  shape: number[];
  values: (number | string)[];
}

const tmp = makeTempDir('torchscript');
let jitExpected: Record<string, Record<string, ExpectedTensor>>;

beforeAll(() => {
  writeFixtures('state_dict.py', [tmp.dir]);
  jitExpected = JSON.parse(readFileSync(join(tmp.dir, 'jit-expected.json'), 'utf8'));
});
afterAll(() => tmp.remove());

const load = (name: string) => readCheckpoint(readFileSync(join(tmp.dir, name)));


describe.each(['scripted.pt', 'traced.pt', 'scripted-linear.pt'])('TorchScript archive %s', (file) => {
  it("gives exactly torch.jit.load(file).state_dict(): names, dtypes, shapes and values", () => {
    const checkpoint = load(file);
    expect(checkpoint.format).toBe('torchscript');
    const sd = scriptStateDict(checkpoint.value, checkpoint.size);
    const want = jitExpected[file];
    expect([...sd.keys()].sort()).toEqual(Object.keys(want).sort());
    for (const [name, w] of Object.entries(want)) {
      const t = sd.get(name)!;
      expect(t.dtype, name).toBe(w.dtype);
      expect(t.shape, name).toEqual(w.shape);
      const got = Array.from(t.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? String(v) : v));
      expect(got, name).toEqual(w.values);
    }
  });
});

describe('TorchScript module trees', () => {
  it('keep the module objects inert, with their attributes and declarations', () => {
    const root = load('scripted.pt').value as InertObject;
    expect(root).toBeInstanceOf(InertObject);
    expect(root.name).toBe('Scripted');
    expect(root.declaration).toEqual({ parameters: [], buffers: ['scale', 'count'] });
    // A plain tensor attribute and typed containers are attributes, never state-dict entries.
    expect(root.attributes.get('mask')).toBeInstanceOf(Tensor);
    expect(root.attributes.get('sizes')).toEqual([3, 4, 2]);
    expect(root.attributes.get('gains')).toEqual([1.5]);
    expect((root.attributes.get('table') as PyDict).get('a')).toBeInstanceOf(Tensor);
    const body = root.attributes.get('body') as InertObject;
    expect(body.qualifiedName).toMatch(/^__torch__\.torch\.nn\.modules\.container(\.___torch_mangle_\d+)?\.Sequential$/);
    expect((body.attributes.get('2') as InertObject).declaration).toEqual({ parameters: ['weight', 'bias'], buffers: [] });
    expect((body.attributes.get('2') as InertObject).attributes.get('bias')).toBeNull();
  });

  it('are not state dicts for the plain flattener (their objects are not containers)', () => {
    const { value, size } = load('scripted.pt');
    expect(flattenTensors(value, size).size).toBe(0);
  });
});

describe('TorchScript class declarations', () => {
  const src = [
    'class Linear(Module):',
    '  __parameters__ = ["weight", "bias", ]',
    '  __buffers__ = []',
    '  weight : Tensor',
    '  def forward(self: __torch__.Linear, x: Tensor) -> Tensor:',
    '    return torch.linear(x, self.weight, self.bias)',
    'def helper(x: Tensor) -> Tensor:',
    '  __parameters__ = ["not", "a", "class", ]',
    '  return x',
    'class Holder(object):',
    '  __parameters__ = ["ignored", ]',
    'class Stats(Module):',
    '  __parameters__ = []',
    '  __buffers__ = ["mean", "std", ]',
    '',
  ].join('\n');

  it('are read from the literal lists of module classes only', () => {
    const d = parseScriptDeclarations(src, 'code/__torch__.py');
    expect([...d.keys()]).toEqual(['Linear', 'Stats']);
    expect(d.get('Linear')).toEqual({ parameters: ['weight', 'bias'], buffers: [] });
    expect(d.get('Stats')).toEqual({ parameters: [], buffers: ['mean', 'std'] });
  });

  it.each([
    ['a module class without __buffers__', 'class A(Module):\n  __parameters__ = []\n', /does not declare __parameters__ and __buffers__/],
    ['a list that is not literal names', 'class A(Module):\n  __parameters__ = [f(x)]\n  __buffers__ = []\n', /cannot read the list/],
    ['a name that is not an identifier', 'class A(Module):\n  __parameters__ = ["../x", ]\n  __buffers__ = []\n', /cannot read the list/],
    ['a list declared twice', 'class A(Module):\n  __parameters__ = []\n  __parameters__ = []\n  __buffers__ = []\n', /declared twice/],
  ])('refuse %s', (_, text, pattern) => {
    const e = thrownBy(() => parseScriptDeclarations(text, 'code/x.py'));
    expect(e.code).toBe('E_CHECKPOINT');
    expect(e.message).toMatch(pattern);
  });
});

describe('training checkpoints', () => {
  it("read rosinality train.py's argparse.Namespace as an inert object and the optimiser state as plain data", () => {
    const want = JSON.parse(readFileSync(join(tmp.dir, 'train-expected.json'), 'utf8'));
    const checkpoint = load('train.pt');
    const value = checkpoint.value as PyDict;
    const args = value.get('args') as InertObject;
    expect(args).toBeInstanceOf(InertObject);
    expect(args.qualifiedName).toBe('argparse.Namespace');
    expect(Object.fromEntries(args.attributes)).toEqual(want.args);
    const optim = value.get('g_optim') as PyDict;
    const state = (optim.get('state') as PyDict).get(0) as PyDict;
    expect(Array.from((state.get('exp_avg') as Tensor).data as Float32Array)).toEqual(want.exp_avg.map(Math.fround));
    const group = (optim.get('param_groups') as PyDict[])[0];
    expect(group.get('betas')).toEqual([0, 0.99]);
    expect(value.get('ada_aug_p')).toBe(0.25);
    expect([...flattenTensors(value.get('g_ema')!, checkpoint.size).keys()]).toEqual(['weight', 'bias']);
  });
});
