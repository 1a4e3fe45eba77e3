// NVIDIA stylegan2-ada-pytorch network pickles (torch_utils.persistence objects) read as data.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StyleAtlasError } from '../../pipeline/core/errors.ts';
import { Tensor, moduleStateDict, readNvidiaPickle } from '../../pipeline/models/checkpoint/index.ts';
import type { ModuleNode, PyDict } from '../../pipeline/models/checkpoint/index.ts';
import { makeTempDir, writeFixtures } from '../fixtures/checkpoint/fixtures.ts';

interface Expected {
  G_ema: Record<string, { shape: number[]; values: number[] }>;
  G_names: string[];
  weight_gain: number;
  act_gain: number;
}

const tmp = makeTempDir('nvidia');
const marker = join(tmp.dir, 'module-src-was-executed');
let expected: Expected;

beforeAll(() => {
  writeFixtures('nvidia_pickle.py', [tmp.dir, marker]);
  writeFixtures('state_dict.py', [tmp.dir]);
  expected = JSON.parse(readFileSync(join(tmp.dir, 'nvidia-expected.json'), 'utf8'));
});
afterAll(() => tmp.remove());

const child = (m: ModuleNode, name: string): ModuleNode => {
  const c = m.submodules.get(name);
  expect(c, name).toBeTruthy();
  return c!;
};

describe.each([2, 3, 4, 5])('network pickle, protocol %i', (protocol) => {
  const read = () => readNvidiaPickle(readFileSync(join(tmp.dir, `network-p${protocol}.pkl`)));

  it('finds the networks and keeps the other entries as data', () => {
    const pkl = read();
    expect([...pkl.networks.keys()]).toEqual(['G', 'D', 'G_ema', 'augment_pipe']);
    const kwargs = pkl.data.get('training_set_kwargs') as PyDict;
    expect(kwargs.get('max_size')).toBe(70000);
    expect(kwargs.get('class_name')).toBe('training.dataset.ImageFolderDataset');
  });

  it("gives G_ema's state dict with torch's names and exact values", () => {
    const pkl = read();
    const state = moduleStateDict(pkl.networks.get('G_ema')!, pkl.size);
    expect([...state.keys()]).toEqual(Object.keys(expected.G_ema));
    for (const [name, want] of Object.entries(expected.G_ema)) {
      const t = state.get(name)!;
      expect(t.dtype, name).toBe('float32');
      expect(t.shape, name).toEqual(want.shape);
      expect(Array.from(t.data as Float32Array), name).toEqual(want.values);
    }
    expect([...moduleStateDict(pkl.networks.get('G')!, pkl.size).keys()]).toEqual(expected.G_names);
  });

  it('reads the module tree: classes, attributes, numpy values, init kwargs, buffers', () => {
    const pkl = read();
    const g = pkl.networks.get('G_ema')!;
    expect(g.className).toBe('Generator');
    expect(g.attributes.get('w_dim')).toBe(4);
    expect(g.attributes.get('training')).toBe(false);
    expect(g.attributes.get('channels_dict')).toEqual(new Map([[4, 6], [8, 3]]));
    const initKwargs = g.attributes.get('_init_kwargs') as PyDict;
    expect((initKwargs.get('mapping_kwargs') as PyDict).get('num_layers')).toBe(2); // a dnnlib EasyDict
    const mapping = child(g, 'mapping');
    expect(mapping.className).toBe('MappingNetwork');
    expect(child(mapping, 'fc0').attributes.get('weight_gain')).toBe(expected.weight_gain); // numpy.float64
    const synthesis = child(g, 'synthesis');
    expect(synthesis.attributes.get('act_gain')).toBe(expected.act_gain);
    expect(synthesis.attributes.get('conv_clamp')).toBeNull();
    const inSize = synthesis.attributes.get('in_size') as Tensor; // a numpy array
    expect(inSize).toBeInstanceOf(Tensor);
    expect(inSize.dtype).toBe('int64');
    expect(Array.from(inSize.data as BigInt64Array)).toEqual([8n, 8n]);
    // A non-persistent buffer is kept in the tree but, as in torch, not in the state dict.
    expect(synthesis.buffers.get('scratch')).toBeInstanceOf(Tensor);
    expect(synthesis.nonPersistentBuffers).toEqual(new Set(['scratch']));
    expect(moduleStateDict(g, pkl.size).has('synthesis.scratch')).toBe(false);
  });

  it('keeps the embedded module source as text and never runs it', () => {
    const pkl = read();
    const g = pkl.networks.get('G_ema')!;
    expect(g.moduleSrc).toContain(`os.system('touch ${marker}')`);
    expect(existsSync(marker)).toBe(false);
  });
});

describe('not a network pickle', () => {
  it('refuses a torch.save file with a pointer to readCheckpoint', () => {
    let error: unknown;
    try {
      readNvidiaPickle(readFileSync(join(tmp.dir, 'state-zip.pt')));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StyleAtlasError);
    expect((error as StyleAtlasError).code).toBe('E_CHECKPOINT');
    expect((error as StyleAtlasError).message).toMatch(/not an NVIDIA network pickle/);
  });
});
