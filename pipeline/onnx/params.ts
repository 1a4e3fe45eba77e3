/**
 * Named weights (state dicts) as graph builders consume them, and the checks every builder
 * runs on them: a loading error names the tensor, the expected shape and the found shape.
 */
import { fail } from '../core/errors.ts';
import { Xoshiro128 } from '../core/rng.ts';
import type { Tensor } from './graph.ts';

/** Float32 tensors by parameter name, in the naming of the reference implementation. */
export type StateDict = Map<string, Tensor>;

export function f32(dims: readonly number[], data?: Float32Array): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return { dtype: 'float32', dims: [...dims], data: data ?? new Float32Array(n) };
}

/** The data of `name`, after checking it exists with exactly `shape`. */
export function param(sd: StateDict, name: string, shape: readonly number[]): Float32Array {
  const t = sd.get(name);
  if (!t) fail('E_SHAPE', `weights: tensor ${name} is missing (expected shape [${shape.join(', ')}])`);
  if (t.dims.length !== shape.length || t.dims.some((d, i) => d !== shape[i])) {
    fail('E_SHAPE', `weights: tensor ${name} has shape [${t.dims.join(', ')}], expected [${shape.join(', ')}]`);
  }
  if (!(t.data instanceof Float32Array)) fail('E_SHAPE', `weights: tensor ${name} is ${t.dtype}, expected float32`);
  return t.data;
}

/** Check a state dict against a spec: every tensor present with its shape, nothing unexpected. */
export function checkStateDict(sd: StateDict, spec: ReadonlyMap<string, readonly number[]>, what: string): void {
  for (const [name, shape] of spec) param(sd, name, shape);
  const extra = [...sd.keys()].filter((k) => !spec.has(k));
  if (extra.length > 0) {
    fail('E_SHAPE', `${what}: unexpected tensors ${extra.slice(0, 5).join(', ')}${extra.length > 5 ? ` (+${extra.length - 5})` : ''}`);
  }
}

/**
 * Seeded random weights for a spec: normal(0, 1) per tensor unless `init` says otherwise.
 * Tensors are drawn in spec order from one stream, so the same seed gives identical bytes.
 */
export function randomStateDict(
  spec: ReadonlyMap<string, readonly number[]>,
  seed: number,
  init: (name: string) => { mean?: number; std?: number } = () => ({}),
): StateDict {
  const rng = new Xoshiro128(seed, 0);
  const sd: StateDict = new Map();
  for (const [name, shape] of spec) {
    const t = f32(shape);
    const { mean = 0, std = 1 } = init(name);
    const data = t.data as Float32Array;
    for (let i = 0; i < data.length; i++) data[i] = mean + std * rng.nextNormal();
    sd.set(name, t);
  }
  return sd;
}
