/**
 * The plain values a checkpoint pickle decodes to. Python containers map onto JS ones:
 * dict and OrderedDict → Map (keeps order, non-string keys, and has no prototype to pollute),
 * list → array, tuple → frozen array, set/frozenset → Set, bytes → Uint8Array,
 * int → number (or bigint beyond 2^53), float → number, None → null.
 */
import { fail } from '../../core/errors.ts';
import { Tensor } from './tensor.ts';
import type { DType } from './tensor.ts';

export type PyKey = null | boolean | number | bigint | string | Uint8Array | PyTuple | Set<PyValue>;
export type PyDict = Map<PyKey, PyValue>;
export type PyTuple = readonly PyValue[];
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | Set<PyValue>
  | Tensor
  | TorchStorage
  | PyGlobal
  | PersistentObject
  | InertObject;

/** A reference to one of the allowed globals (a storage class, a dtype such as torch.float16). */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/**
 * A flat, typed buffer of `numel` elements, as torch.save writes it. `bytes` is filled when the
 * format provides the data (legacy files store it after the pickle that refers to it).
 */
export class TorchStorage {
  bytes: Uint8Array | null = null;
  constructor(
    readonly dtype: DType,
    readonly numel: number,
    readonly key: string,
    readonly littleEndian: boolean,
  ) {}
}

/**
 * A `torch_utils.persistence` object (NVIDIA stylegan2-ada-pytorch): the class name, the Python
 * source of its module kept as text only (never run), and the instance's __dict__.
 */
export class PersistentObject {
  constructor(
    readonly className: string,
    readonly moduleSrc: string,
    readonly version: number,
    readonly state: PyDict,
  ) {}
}

/**
 * An instance of a plain-data Python class (an `argparse.Namespace`, a TorchScript module object):
 * its class name and the attributes its pickle sets. The class is never looked up, constructed or
 * run; `declaration` is what the archive's TorchScript source declares about it, when it has one.
 */
export class InertObject {
  readonly attributes = new Map<string, PyValue>();
  constructor(
    readonly module: string,
    readonly name: string,
    readonly declaration: ScriptClassDeclaration | null = null,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A TorchScript module class as its serialized source declares it (read as text, never run). */
export interface ScriptClassDeclaration {
  /** The `__parameters__` list, in order. */
  parameters: readonly string[];
  /** The `__buffers__` list, in order. */
  buffers: readonly string[];
}

export function tuple(items: PyValue[]): PyTuple {
  return Object.freeze(items);
}

export function isTuple(v: unknown): v is PyTuple {
  return Array.isArray(v) && Object.isFrozen(v);
}

export function isList(v: unknown): v is PyValue[] {
  return Array.isArray(v) && !Object.isFrozen(v);
}

export function isDict(v: unknown): v is PyDict {
  return v instanceof Map;
}

/** A short, safe description of a value for error messages (never its full contents). */
export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' || typeof v === 'bigint') return `int/float ${String(v).slice(0, 24)}`;
  if (typeof v === 'string') return `str ${JSON.stringify(v.slice(0, 40))}`;
  if (v instanceof Uint8Array) return `bytes[${v.length}]`;
  if (isTuple(v)) return `tuple[${v.length}]`;
  if (Array.isArray(v)) return `list[${v.length}]`;
  if (v instanceof Map) return `dict[${v.size}]`;
  if (v instanceof Set) return `set[${v.size}]`;
  if (v instanceof Tensor) return `tensor ${v.dtype}[${v.shape.join(', ')}]`;
  if (v instanceof TorchStorage) return `storage ${v.dtype}[${v.numel}]`;
  if (v instanceof PyGlobal) return `global ${v.qualifiedName}`;
  if (v instanceof PersistentObject) return `persistent object ${v.className}`;
  if (v instanceof InertObject) return `object of class ${v.qualifiedName.slice(0, 120)}`;
  return 'an internal value';
}

/** A non-negative integer that fits in a JS number, or an E_CHECKPOINT error naming `what`. */
export function expectIndex(v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    fail('E_CHECKPOINT', `${what} must be an integer in [0, ${max}], found ${describe(v)}`);
  }
  return v;
}

export function expectString(v: unknown, what: string): string {
  if (typeof v === 'string') return v;
  // Python 2 era pickles may carry ASCII identifiers as bytes.
  if (v instanceof Uint8Array && v.length < 256 && v.every((b) => b < 0x80)) {
    return String.fromCharCode(...v);
  }
  return fail('E_CHECKPOINT', `${what} must be a string, found ${describe(v)}`);
}

export function expectTuple(v: unknown, what: string, lengths: readonly number[]): PyTuple {
  if (!Array.isArray(v) || !lengths.includes(v.length)) {
    fail('E_CHECKPOINT', `${what} must be a tuple of ${lengths.join(' or ')} items, found ${describe(v)}`);
  }
  return v as PyTuple;
}

/** An empty dict, an empty OrderedDict or None: the "no hooks / no state" arguments of rebuilds. */
export function isEmptyState(v: unknown): boolean {
  return v === null || (v instanceof Map && v.size === 0);
}
