/**
 * What every importer shares: reading the source file once (bytes and sha256), turning checkpoint
 * tensors into the float32 state dicts the graph builders take, and the checks whose errors name
 * the tensor, the expected shape and the found shape.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fail } from '../../core/errors.ts';
import type { Tensor } from '../../onnx/graph.ts';
import { type StateDict, f32 } from '../../onnx/params.ts';
import type { StyleGAN2Arch } from '../../onnx/stylegan2/arch.ts';
import { sha256Hex } from '../bundle.ts';

/** A float or integer tensor as any reader gives it: a shape and a dense row-major array. */
export interface SourceTensor {
  shape: readonly number[];
  data: ArrayLike<number | bigint>;
}

export interface SourceFile {
  path: string;
  name: string;
  bytes: Uint8Array;
  sha256: string;
}

/** An importer's result before it is written: rosinality-named weights and what the user must know. */
export interface ImportedGenerator {
  arch: StyleGAN2Arch;
  weights: StateDict;
  /** Mean w for truncation; absent means "estimate it" (a warning says so). */
  wAvg?: Float32Array;
  /** Facts about the conversion, stored in the manifest's origin note. */
  notes: string[];
  /** What the user should read before trusting the bundle (also stored in the note). */
  warnings: string[];
}

/** Reads a checkpoint into memory (a missing or empty file is E_MISSING/E_CHECKPOINT). */
export function readSource(path: string): SourceFile {
  const abs = resolve(path);
  if (!existsSync(abs) || !statSync(abs).isFile()) fail('E_MISSING', `checkpoint ${path} does not exist or is not a file`);
  const buf = readFileSync(abs);
  if (buf.length === 0) fail('E_CHECKPOINT', `checkpoint ${path} is empty`);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return { path: abs, name: basename(abs), bytes, sha256: sha256Hex(bytes) };
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** The tensor's values as float32 (float64 narrowed, integers refused: weights are floats). */
export function float32Of(t: SourceTensor, name: string): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  if (t.data instanceof Float64Array) return Float32Array.from(t.data);
  return fail('E_CHECKPOINT', `tensor ${name} holds integers; a weight must be a float tensor`);
}

/** Checks `t` has exactly `shape` (or, with `as`, the same number of elements) and returns it as a graph tensor. */
export function take(t: SourceTensor | undefined, name: string, shape: readonly number[], as?: readonly number[]): Tensor {
  if (!t) return fail('E_SHAPE', `checkpoint: tensor ${name} is missing (expected shape [${shape.join(', ')}])`);
  if (!sameShape(t.shape, shape)) {
    fail('E_SHAPE', `checkpoint: tensor ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return f32(as ?? shape, float32Of(t, name));
}

/** One dimension of a tensor that must exist with the given rank (for deriving an architecture). */
export function dim(tensors: ReadonlyMap<string, SourceTensor>, name: string, rank: number, axis: number, why: string): number {
  const t = tensors.get(name);
  if (!t) return fail('E_SHAPE', `checkpoint: tensor ${name} is missing; ${why}`);
  if (t.shape.length !== rank) fail('E_SHAPE', `checkpoint: tensor ${name} has shape [${t.shape.join(', ')}], expected rank ${rank}`);
  return t.shape[axis];
}

/** Refuses tensors the importer did not use: they mean an architecture it does not know. */
export function refuseLeftovers(names: Iterable<string>, used: ReadonlySet<string>, what: string): void {
  const extra = [...names].filter((n) => !used.has(n));
  if (extra.length > 0) {
    const list = extra.slice(0, 6).join(', ') + (extra.length > 6 ? ` (+${extra.length - 6} more)` : '');
    fail('E_CHECKPOINT', `${what}: unexpected tensors ${list}; this is not the architecture the importer maps, so it refuses rather than drop weights`);
  }
}

/** StyleGAN2's up-sampling FIR, [1,3,3,1] ⊗ [1,3,3,1] normalised to sum 1, times `gain`. */
export function firKernel(gain: number): Float32Array {
  const taps = [1, 3, 3, 1];
  const k = new Float32Array(16);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) k[i * 4 + j] = (taps[i] * taps[j] * gain) / 64;
  return k;
}

/** The graph builder has StyleGAN2's [1,3,3,1] FIR only; any other stored kernel is refused. */
export function checkFirKernel(t: SourceTensor, name: string, gain: number): void {
  const want = firKernel(gain);
  const data = float32Of(t, name);
  const ok = sameShape(t.shape, [4, 4]) && data.every((v, i) => Math.abs(v - want[i]) <= 1e-6 * gain);
  if (!ok) {
    const found = sameShape(t.shape, [4, 4]) ? `[${Array.from(data.subarray(0, 4), (v) => +v.toFixed(4)).join(', ')}, …]` : `shape [${t.shape.join(', ')}]`;
    fail('E_CHECKPOINT', `${name} is not StyleGAN2's [1,3,3,1] FIR kernel (×${gain}): found ${found}`,
      'the graph builder up-samples with the [1,3,3,1] filter only; generators trained with another blur kernel are not supported');
  }
}

/** A lowercase bundle id from a folder name (`models/My FFHQ` → `my-ffhq`). */
export function idFromPath(dir: string): string {
  return basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '');
}

/** Bundle ids as the manifest schema wants them, checked before any work is done. */
export function checkBundleId(id: string): string {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(id)) fail('E_INPUT', `bundle id ${JSON.stringify(id)} must be lowercase letters, digits, '.', '_' or '-', starting with a letter or digit`, 'pass --id NAME');
  return id;
}
