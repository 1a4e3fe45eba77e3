// Shared references (the pickle memo) in checkpoints: a DAG of containers is walked in time bounded
// by the file's size, and a file that names more paths than it has bytes is refused.
import { describe, expect, it } from 'vitest';
import {
  InertObject, Tensor, flattenTensors, moduleStateDict, readCheckpoint, scriptStateDict,
} from '../../pipeline/models/checkpoint/index.ts';
import type { ModuleNode, PyValue } from '../../pipeline/models/checkpoint/index.ts';
import { readClipTensors } from '../../pipeline/models/import/clip.ts';
import type { SourceFile } from '../../pipeline/models/import/common.ts';
import { readStyleGAN2 } from '../../pipeline/models/import/stylegan2.ts';
import { thrownBy } from '../helpers/errors.ts';

const utf8 = new TextEncoder();

/**
 * A protocol-2 pickle of `{'g_ema': l_depth}` where `l_0 = []` and `l_k = [l_{k-1}, l_{k-1}]`, each
 * list memoised (LONG_BINPUT) and fetched twice (LONG_BINGET): 2^depth paths in ~15 bytes a level.
 */
function sharedListPickle(depth: number): Uint8Array {
  const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
  const key = utf8.encode('g_ema');
  const out = [0x80, 2, 0x7d /* } */, 0x58 /* X */, ...u32(key.length), ...key, 0x5d /* ] */, 0x72 /* r */, ...u32(0)];
  for (let k = 1; k <= depth; k++) {
    out.push(0x30 /* POP */, 0x5d, 0x72, ...u32(k), 0x28 /* MARK */, 0x6a /* j */, ...u32(k - 1), 0x6a, ...u32(k - 1), 0x65 /* APPENDS */);
  }
  // The last list is on the stack above the key (the earlier ones were popped): SETITEM, STOP.
  out.push(0x73, 0x2e);
  return new Uint8Array(out);
}

const source = (bytes: Uint8Array): SourceFile => ({ path: '/nowhere/dag.pkl', name: 'dag.pkl', bytes, sha256: '' });

/** `[t]`, then 60 levels of `[previous, previous]`: the value such a pickle decodes to, with a tensor at the bottom. */
function sharedListsOverATensor(depth: number): PyValue {
  let v: PyValue = [new Tensor('float32', [1], new Float32Array([1]))];
  for (let k = 0; k < depth; k++) v = [v, v];
  return v;
}

describe('shared references', () => {
  it('a 60-level DAG of lists (2^60 paths) reads in well under a second and both importers refuse it: it holds no weights', () => {
    const bytes = sharedListPickle(60);
    expect(bytes.length).toBeLessThan(1500);
    const t0 = performance.now();
    const checkpoint = readCheckpoint(bytes);
    expect(flattenTensors(checkpoint.value, checkpoint.size).size).toBe(0);
    const clip = thrownBy(() => readClipTensors(source(bytes)));
    const stylegan2 = thrownBy(() => readStyleGAN2(source(bytes), 'rosinality'));
    const ms = performance.now() - t0;
    console.log(`shared-list DAG, depth 60, ${bytes.length} bytes: read, flattened and refused by two importers in ${ms.toFixed(1)} ms`);
    expect(clip.code).toBe('E_CHECKPOINT');
    expect(clip.message).toMatch(/holds no CLIP weights/);
    expect(stylegan2.code).toBe('E_SHAPE');
    expect(stylegan2.message).toMatch(/the mapping layers style\.1 … style\.N are missing/);
    // No timed assertion (speed is for benchmarks); the walk before the fix never ends at this depth.
  });

  it('a DAG with a tensor at the bottom is refused once its paths outnumber the bytes of the file', () => {
    const e = thrownBy(() => flattenTensors(sharedListsOverATensor(60), 1400));
    expect(e.code).toBe('E_CHECKPOINT');
    expect(e.message).toBe('the checkpoint reaches more than 2424 values through shared references, more than a 1400-byte file holds: the file is corrupt or hostile');
  });

  it('a shared sub-dict is still named under each of its paths, as torch names it', () => {
    const t = new Tensor('float32', [1], new Float32Array([2]));
    const sd: PyValue = new Map([['weight', t]]);
    const flat = flattenTensors(new Map([['g_ema', sd], ['g', sd]]), 100);
    expect([...flat.keys()]).toEqual(['g_ema.weight', 'g.weight']);
    expect(flat.get('g.weight')).toBe(t);
  });

  it('NVIDIA module trees and TorchScript module trees whose submodules are shared in a DAG are refused in bounded time', () => {
    const leaf: ModuleNode = {
      className: 'Leaf', moduleSrc: '', attributes: new Map(), buffers: new Map(), nonPersistentBuffers: new Set(), submodules: new Map(),
      parameters: new Map([['w', new Tensor('float32', [1], new Float32Array([1]))]]),
    };
    let node = leaf;
    for (let k = 0; k < 60; k++) node = { ...leaf, parameters: new Map(), submodules: new Map([['a', node], ['b', node]]) };
    const nvidia = thrownBy(() => moduleStateDict(node, 1400));
    expect(nvidia.message).toMatch(/^the network reaches more than 2424 values through shared references/);

    const declared = { parameters: ['w'], buffers: [] };
    let script = new InertObject('__torch__', 'Leaf', declared);
    script.attributes.set('w', new Tensor('float32', [1], new Float32Array([1])));
    for (let k = 0; k < 60; k++) {
      const parent = new InertObject('__torch__', 'Pair', { parameters: [], buffers: [] });
      parent.attributes.set('a', script);
      parent.attributes.set('b', script);
      script = parent;
    }
    const torchScript = thrownBy(() => scriptStateDict(script, 1400));
    expect(torchScript.message).toMatch(/^the module tree reaches more than 2424 values through shared references/);
  });
});
