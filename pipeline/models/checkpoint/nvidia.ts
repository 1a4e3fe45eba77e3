/**
 * NVIDIA stylegan2-ada-pytorch network pickles (`network-snapshot-*.pkl`): a plain pickle of
 * `{'G': …, 'D': …, 'G_ema': …, 'augment_pipe': …, 'training_set_kwargs': {…}}` whose networks are
 * `torch_utils.persistence` objects. Each becomes a `ModuleNode` built from its pickled __dict__
 * (an nn.Module's `_parameters`, `_buffers`, `_modules` and plain attributes such as `_init_kwargs`);
 * the embedded Python source is kept as text and never run.
 */
import { fail } from '../../core/errors.ts';
import { readCheckpoint } from './load.ts';
import { Tensor } from './tensor.ts';
import { PersistentObject, describe } from './values.ts';
import type { PyDict, PyValue } from './values.ts';
import { walkBudget } from './walk-budget.ts';

export interface ModuleNode {
  /** The Python class name, e.g. `Generator`, `SynthesisLayer`. */
  className: string;
  /** The source of the module that defined the class: provenance only, never executed. */
  moduleSrc: string;
  /** Everything else in the instance __dict__ (`_init_kwargs`, `w_dim`, `act_gain`, `training`, hooks…). */
  attributes: Map<string, PyValue>;
  parameters: Map<string, Tensor | null>;
  buffers: Map<string, Tensor | null>;
  /** Buffers that torch leaves out of state_dict(). */
  nonPersistentBuffers: Set<string>;
  submodules: Map<string, ModuleNode | null>;
}

export interface NvidiaPickle {
  /** Each top-level network (`G`, `D`, `G_ema`, `augment_pipe`). */
  networks: Map<string, ModuleNode>;
  /** The other top-level entries (`training_set_kwargs`, …) as plain values. */
  data: Map<string, PyValue>;
  /** The file's length in bytes, which bounds moduleStateDict's walk (./walk-budget.ts). */
  size: number;
}

const STRUCTURE = new Set(['_parameters', '_buffers', '_modules', '_non_persistent_buffers_set']);
const MAX_DEPTH = 256;

function isModuleState(state: PyDict): boolean {
  return state.get('_parameters') instanceof Map && state.get('_buffers') instanceof Map && state.get('_modules') instanceof Map;
}

function namedMap<T>(v: PyValue | undefined, what: string, check: (x: PyValue) => x is PyValue & T): Map<string, T | null> {
  const out = new Map<string, T | null>();
  for (const [k, x] of v as PyDict) {
    if (typeof k !== 'string') fail('E_CHECKPOINT', `${what} has a key that is ${describe(k)}`);
    if (x !== null && !check(x)) fail('E_CHECKPOINT', `${what} ${JSON.stringify(k)} is ${describe(x)}`);
    out.set(k, x as T | null);
  }
  return out;
}

/** The module tree of one network object; shared submodules stay shared, cycles are refused. */
export function toModuleTree(root: PersistentObject): ModuleNode {
  const done = new Map<PersistentObject, ModuleNode>();
  const onPath = new Set<PersistentObject>();
  const visit = (obj: PersistentObject, path: string, depth: number): ModuleNode => {
    const known = done.get(obj);
    if (known) return known;
    if (onPath.has(obj)) fail('E_CHECKPOINT', `network ${path} contains itself`);
    if (depth > MAX_DEPTH) fail('E_CHECKPOINT', `network modules nested deeper than ${MAX_DEPTH}`);
    const { state } = obj;
    if (!isModuleState(state)) {
      fail('E_CHECKPOINT', `${path} (${obj.className}) is not a torch.nn.Module: it has no _parameters/_buffers/_modules`);
    }
    onPath.add(obj);
    const attributes = new Map<string, PyValue>();
    for (const [k, v] of state) {
      if (typeof k !== 'string') fail('E_CHECKPOINT', `${path} has an attribute named by ${describe(k)}`);
      if (!STRUCTURE.has(k)) attributes.set(k, v);
    }
    const nonPersistent = state.get('_non_persistent_buffers_set') ?? new Set();
    if (!(nonPersistent instanceof Set) || [...nonPersistent].some((n) => typeof n !== 'string')) {
      fail('E_CHECKPOINT', `${path}._non_persistent_buffers_set is not a set of names`);
    }
    const children = namedMap(state.get('_modules'), `${path} submodule`, (x): x is PersistentObject => x instanceof PersistentObject);
    const node: ModuleNode = {
      className: obj.className,
      moduleSrc: obj.moduleSrc,
      attributes,
      parameters: namedMap(state.get('_parameters'), `${path} parameter`, (x): x is Tensor => x instanceof Tensor),
      buffers: namedMap(state.get('_buffers'), `${path} buffer`, (x): x is Tensor => x instanceof Tensor),
      nonPersistentBuffers: nonPersistent as Set<string>,
      submodules: new Map(),
    };
    for (const [name, child] of children) node.submodules.set(name, child && visit(child, `${path}.${name}`, depth + 1));
    onPath.delete(obj);
    done.set(obj, node);
    return node;
  };
  return visit(root, root.className, 0);
}

/**
 * The names and tensors torch's `module.state_dict()` would give: parameters, persistent buffers, then
 * children. A shared submodule is named under each of its paths, as torch does, within a walk
 * bounded by the size of the file the tree came from (./walk-budget.ts).
 */
export function moduleStateDict(node: ModuleNode, fileBytes: number): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const step = walkBudget(fileBytes, 'the network');
  const visit = (m: ModuleNode, p: string): void => {
    step();
    for (const [name, t] of m.parameters) if (t) out.set(p + name, t);
    for (const [name, t] of m.buffers) if (t && !m.nonPersistentBuffers.has(name)) out.set(p + name, t);
    for (const [name, child] of m.submodules) if (child) visit(child, `${p}${name}.`);
  };
  visit(node, '');
  return out;
}

/** Reads an NVIDIA stylegan2-ada-pytorch `.pkl` as data. */
export function readNvidiaPickle(bytes: Uint8Array): NvidiaPickle {
  const { format, value, size } = readCheckpoint(bytes);
  if (format !== 'pickle') {
    fail('E_CHECKPOINT', `this is a torch.save file (${format}), not an NVIDIA network pickle`, 'read it with readCheckpoint');
  }
  if (!(value instanceof Map)) fail('E_CHECKPOINT', `an NVIDIA network pickle holds a dict, this one holds ${describe(value)}`);
  const result: NvidiaPickle = { networks: new Map(), data: new Map(), size };
  for (const [key, v] of value) {
    if (typeof key !== 'string') fail('E_CHECKPOINT', `top-level key ${describe(key)} is not a string`);
    if (v instanceof PersistentObject && isModuleState(v.state)) result.networks.set(key, toModuleTree(v));
    else result.data.set(key, v);
  }
  return result;
}
