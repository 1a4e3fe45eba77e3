/**
 * The Python and PyTorch globals a state dict needs, each read as data: containers, tensor and
 * parameter rebuilds, storage classes and dtypes. Nothing here imports or runs Python; each entry is
 * a small pure function over already-decoded values. (The same list as torch's weights_only loader.)
 */
import { fail } from '../../core/errors.ts';
import type { Budget, TensorRebuilder } from './rebuild.ts';
import { Tensor } from './tensor.ts';
import type { DType } from './tensor.ts';
import { PyGlobal, TorchStorage, describe, expectIndex, expectString, expectTuple, isEmptyState, tuple } from './values.ts';
import type { PyValue } from './values.ts';

export interface GlobalContext {
  readonly rebuilder: TensorRebuilder;
  readonly budget: Budget;
  /** `torch.storage._load_from_bytes`: a nested torch.save stream holding one storage. */
  loadStorageFromBytes(bytes: Uint8Array): TorchStorage;
}

export interface SafeGlobal {
  /** What REDUCE of this global does; absent for globals that are only values (storage classes, dtypes). */
  call?(args: readonly unknown[], ctx: GlobalContext): unknown;
  /** What NEWOBJ of this global does. */
  construct?(args: readonly unknown[], ctx: GlobalContext): unknown;
}

function arity(name: string, args: readonly unknown[], counts: readonly number[]): void {
  if (!counts.includes(args.length)) {
    fail('E_CHECKPOINT', `${name} takes ${counts.join(' or ')} arguments, the pickle gives ${args.length}`);
  }
}

function orderedDict(args: readonly unknown[]): Map<unknown, unknown> {
  arity('collections.OrderedDict', args, [0, 1]);
  const out = new Map<unknown, unknown>();
  if (args.length === 1) {
    const items = args[0];
    if (items instanceof Map) return new Map(items);
    if (!Array.isArray(items)) fail('E_CHECKPOINT', `OrderedDict of ${describe(items)}`);
    for (const pair of items) {
      const [k, v] = expectTuple(pair, 'an OrderedDict item', [2]);
      out.set(k, v);
    }
  }
  return out;
}

function set(args: readonly unknown[]): Set<unknown> {
  arity('set', args, [0, 1]);
  if (args.length === 0) return new Set();
  if (!Array.isArray(args[0])) fail('E_CHECKPOINT', `set of ${describe(args[0])}`);
  return new Set(args[0]);
}

/** Protocol 2 writes Python 3 bytes as `_codecs.encode(text, 'latin1')`. */
function codecsEncode(args: readonly unknown[]): Uint8Array {
  arity('_codecs.encode', args, [2]);
  const [text, encoding] = args;
  if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
    fail('E_CHECKPOINT', `_codecs.encode is only accepted as encode(str, 'latin1'), found ${describe(encoding)}`);
  }
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) fail('E_CHECKPOINT', '_codecs.encode of a non-latin1 string');
    out[i] = c;
  }
  return out;
}

function rebuildTensorV2(args: readonly unknown[], ctx: GlobalContext): Tensor {
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  arity('torch._utils._rebuild_tensor_v2', args, [6, 7]);
  if (typeof args[4] !== 'boolean') fail('E_CHECKPOINT', `requires_grad must be a bool, found ${describe(args[4])}`);
  if (!(args[5] instanceof Map)) fail('E_CHECKPOINT', `backward_hooks must be an OrderedDict, found ${describe(args[5])}`);
  // Metadata sets conj/neg bits that would change the values; none of our formats uses it.
  if (args.length === 7 && !isEmptyState(args[6])) fail('E_CHECKPOINT', 'tensors with metadata (conj/neg bits) are not supported');
  return ctx.rebuilder.rebuild(args[0], args[1], args[2], args[3]);
}

function rebuildParameter(args: readonly unknown[], withState: boolean): Tensor {
  // (data, requires_grad, backward_hooks[, state])
  arity('torch._utils._rebuild_parameter', args, [withState ? 4 : 3]);
  const [data, requiresGrad, hooks] = args;
  if (!(data instanceof Tensor)) fail('E_CHECKPOINT', `a Parameter must wrap a tensor, found ${describe(data)}`);
  if (typeof requiresGrad !== 'boolean' || !(hooks instanceof Map)) fail('E_CHECKPOINT', 'malformed Parameter rebuild');
  if (withState && !isEmptyState(args[3])) {
    fail('E_CHECKPOINT', 'a Parameter subclass with extra state is not supported: save a plain state dict');
  }
  return data;
}

function torchSize(args: readonly unknown[]): readonly PyValue[] {
  arity('torch.Size', args, [1]);
  const dims = args[0];
  if (!Array.isArray(dims) || dims.length > 64) fail('E_CHECKPOINT', `torch.Size of ${describe(dims)}`);
  return tuple(dims.map((d, i) => expectIndex(d, `torch.Size[${i}]`)));
}

const STORAGE_DTYPES: ReadonlyArray<[string, DType]> = [
  ['Float', 'float32'], ['Double', 'float64'], ['Half', 'float16'], ['BFloat16', 'bfloat16'], ['Long', 'int64'],
  ['Int', 'int32'], ['Short', 'int16'], ['Char', 'int8'], ['Byte', 'uint8'], ['Bool', 'bool'],
];

/** Storage class → element dtype (torch.cuda.* appear in old checkpoints saved from a GPU). */
export const STORAGE_DTYPE: ReadonlyMap<string, DType> = new Map<string, DType>([
  ...STORAGE_DTYPES.map(([n, d]): [string, DType] => [`torch.${n}Storage`, d]),
  ...STORAGE_DTYPES.map(([n, d]): [string, DType] => [`torch.cuda.${n}Storage`, d]),
  ['torch.UntypedStorage', 'uint8'], ['torch.storage.UntypedStorage', 'uint8'],
  ['torch._UntypedStorage', 'uint8'], ['torch.storage._UntypedStorage', 'uint8'],
]);

const TORCH_DTYPE_NAMES = [
  'float32', 'float', 'float64', 'double', 'float16', 'half', 'bfloat16', 'int64', 'long',
  'int32', 'int', 'int16', 'short', 'int8', 'uint8', 'bool',
];

export function storageDType(cls: unknown): DType {
  const dtype = cls instanceof PyGlobal ? STORAGE_DTYPE.get(cls.qualifiedName) : undefined;
  if (!dtype) fail('E_CHECKPOINT', `unsupported storage type ${describe(cls)}`);
  return dtype;
}

const builtinSet: SafeGlobal = { call: set };
const valueOnly: SafeGlobal = {};

export const TORCH_GLOBALS: ReadonlyMap<string, SafeGlobal> = new Map<string, SafeGlobal>([
  ['collections.OrderedDict', { call: orderedDict, construct: orderedDict }],
  ['builtins.set', builtinSet], ['__builtin__.set', builtinSet],
  ['builtins.frozenset', builtinSet], ['__builtin__.frozenset', builtinSet],
  ['builtins.bytes', { call: (a) => (arity('bytes', a, [0]), new Uint8Array(0)) }],
  ['__builtin__.bytes', { call: (a) => (arity('bytes', a, [0]), new Uint8Array(0)) }],
  ['builtins.bytearray', { call: (a) => (arity('bytearray', a, [0, 1]), a[0] instanceof Uint8Array ? new Uint8Array(a[0]) : new Uint8Array(0)) }],
  ['_codecs.encode', { call: codecsEncode }],
  ['torch._utils._rebuild_tensor_v2', { call: rebuildTensorV2 }],
  ['torch._utils._rebuild_tensor', {
    call: (a, ctx) => (arity('torch._utils._rebuild_tensor', a, [4]), ctx.rebuilder.rebuild(a[0], a[1], a[2], a[3])),
  }],
  ['torch._utils._rebuild_parameter', { call: (a) => rebuildParameter(a, false) }],
  ['torch._utils._rebuild_parameter_with_state', { call: (a) => rebuildParameter(a, true) }],
  ['torch.Size', { call: torchSize }],
  ['torch.storage._load_from_bytes', {
    call: (a, ctx) => {
      arity('torch.storage._load_from_bytes', a, [1]);
      if (!(a[0] instanceof Uint8Array)) fail('E_CHECKPOINT', `_load_from_bytes of ${describe(a[0])}`);
      return ctx.loadStorageFromBytes(a[0]);
    },
  }],
  ...[...STORAGE_DTYPE.keys()].map((name): [string, SafeGlobal] => [name, valueOnly]),
  ...TORCH_DTYPE_NAMES.map((name): [string, SafeGlobal] => [`torch.${name}`, valueOnly]),
]);

/** A persistent id `('storage', cls, key, location, numel[, view_metadata])` as torch.save writes it. */
export function parseStoragePid(pid: unknown, lengths: readonly number[]) {
  const t = expectTuple(pid, 'a persistent id', lengths);
  const kind = expectString(t[0], 'persistent id kind');
  if (kind === 'module') {
    fail('E_CHECKPOINT', 'the checkpoint pickles a whole nn.Module class (torch.save(model)), which needs its code',
      "re-save it as a state dict: torch.save(model.state_dict(), 'weights.pt')");
  }
  if (kind !== 'storage') fail('E_CHECKPOINT', `unknown persistent id kind ${JSON.stringify(kind.slice(0, 40))}`);
  return {
    dtype: storageDType(t[1]),
    key: expectString(t[2], 'storage key'),
    numel: expectIndex(t[4], 'storage size', 2 ** 40),
    view: t.length === 6 ? t[5] : null,
  };
}
