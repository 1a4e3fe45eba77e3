/**
 * The mapper trainer's checkpoint, `checkpoint.npz` in the run's folder, written atomically every
 * K steps: everything the next step depends on, so a run killed at any moment continues with
 * `--resume` to the same weights, bit for bit, as an uninterrupted one —
 *   <parameter name>   float32, the mapper's weights (official names; np.load reads them)
 *   adam.m, adam.v     float64 [P], Adam's moments as they are (no rounding)
 *   state              JSON text: format, step, Adam's step count, the inputs' sha256, the loss curve
 * The order of training batches is a pure function of (seed, step) (core/mapper.ts), so the
 * random state is the step itself.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { AdamState } from '../core/adam.ts';
import { fail } from '../core/errors.ts';
import { type MapperShape, flattenMapperWeights, mapperParamSpec, mapperWeightViews } from '../core/mapper.ts';
import { writeFileAtomic } from '../store/atomic.ts';
import { type NpzMember, decodeNpz, encodeNpz } from '../store/npz.ts';

export const CHECKPOINT_FORMAT = 'styleatlas-mapper-checkpoint/1';
export const CHECKPOINT_FILE = 'checkpoint.npz';

/** The training batch's loss terms at one step, before that step's update (batch means). */
export interface LossPoint {
  step: number;
  loss: number;
  clip: number;
  l2: number;
  /** The identity term (with an identity network only). */
  id?: number;
}

export interface TrainingState {
  /** Steps done: the next step to take. */
  step: number;
  /** The mapper's parameters, flat in spec order. */
  params: Float32Array;
  adam: AdamState;
  curve: LossPoint[];
}

export function encodeCheckpoint(shape: MapperShape, s: TrainingState, inputsSha256: string): Uint8Array {
  const members: [string, NpzMember][] = [];
  const views = mapperWeightViews(shape, s.params);
  for (const [name, dims] of mapperParamSpec(shape)) members.push([name, { dtype: 'float32', shape: dims, data: views.get(name)! }]);
  members.push(['adam.m', { dtype: 'float64', shape: [s.adam.m.length], data: s.adam.m }]);
  members.push(['adam.v', { dtype: 'float64', shape: [s.adam.v.length], data: s.adam.v }]);
  members.push(['state', { dtype: 'unicode', text: JSON.stringify({ format: CHECKPOINT_FORMAT, step: s.step, adamSteps: s.adam.steps, inputsSha256, curve: s.curve }) }]);
  return encodeNpz(members);
}

export function decodeCheckpoint(bytes: Uint8Array, shape: MapperShape, what: string): { state: TrainingState; inputsSha256: string } {
  const m = decodeNpz(bytes, what);
  const text = m.get('state');
  if (text?.dtype !== 'unicode') fail('E_RESUME', `${what} has no state record`, 'it is not a mapper checkpoint of this tool; start a new run in a new folder');
  let st: { format?: unknown; step?: unknown; adamSteps?: unknown; inputsSha256?: unknown; curve?: unknown };
  try {
    st = JSON.parse(text.text);
  } catch {
    return fail('E_RESUME', `${what}: its state record is not JSON`);
  }
  if (st.format !== CHECKPOINT_FORMAT) fail('E_RESUME', `${what}: format ${JSON.stringify(st.format)}, this tool reads ${CHECKPOINT_FORMAT}`);
  if (!Number.isInteger(st.step) || !Number.isInteger(st.adamSteps) || typeof st.inputsSha256 !== 'string' || !Array.isArray(st.curve)) {
    fail('E_RESUME', `${what}: its state record lacks step, adamSteps, inputsSha256 or curve`);
  }
  const weights = new Map<string, Float32Array>();
  for (const [name, dims] of mapperParamSpec(shape)) {
    const t = m.get(name);
    if (t?.dtype !== 'float32' || t.shape.join() !== dims.join()) fail('E_RESUME', `${what}: parameter ${name} is missing or not float32 [${dims}]`, 'was it written for another generator?');
    weights.set(name, t.data);
  }
  const params = flattenMapperWeights(shape, weights);
  const moment = (key: string): Float64Array => {
    const t = m.get(key);
    if (t?.dtype !== 'float64' || t.data.length !== params.length) fail('E_RESUME', `${what}: ${key} is missing or not float64 [${params.length}]`);
    return t.data;
  };
  const adam = { steps: st.adamSteps as number, m: moment('adam.m'), v: moment('adam.v') };
  return { state: { step: st.step as number, params, adam, curve: st.curve as LossPoint[] }, inputsSha256: st.inputsSha256 as string };
}

export function saveCheckpoint(path: string, shape: MapperShape, s: TrainingState, inputsSha256: string): void {
  writeFileAtomic(path, encodeCheckpoint(shape, s, inputsSha256));
}

export function loadCheckpoint(path: string, shape: MapperShape): { state: TrainingState; inputsSha256: string } | undefined {
  if (!existsSync(path)) return undefined;
  const buf = readFileSync(path);
  return decodeCheckpoint(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), shape, path);
}
