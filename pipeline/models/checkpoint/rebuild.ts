/**
 * Tensor rebuilds (`torch._utils._rebuild_tensor_v2` and friends) as data: the arguments are checked
 * when the pickle names them, the tensor object is placed in the result at once, and its elements
 * are copied out of the storage in `finish()`, because legacy files store the bytes after the pickle.
 * A byte budget proportional to the input caps what a small file can make us allocate.
 */
import { fail } from '../../core/errors.ts';
import { ELEMENT_SIZE, MAX_ELEMENTS, Tensor, checkView, elementView, fromRaw, gather, numelOf, outputElementSize } from './tensor.ts';
import { TorchStorage, describe, expectIndex } from './values.ts';

export class Budget {
  constructor(private left: number) {}
  /** Reserves `bytes` of output, or refuses the file. */
  spend(bytes: number, what: string): void {
    if (bytes > this.left) {
      fail('E_CHECKPOINT', `${what} would need ${bytes} bytes, more than this file can plausibly hold ` +
        `(${this.left} left of a budget proportional to its size): the file is corrupt or hostile`);
    }
    this.left -= bytes;
  }
}

/** Output bytes a load may allocate: widening halves doubles data, and views may repeat a storage. */
export function budgetFor(inputBytes: number): Budget {
  return new Budget(8 * inputBytes + 16 * 2 ** 20);
}

const MAX_DIMS = 32;

function expectDims(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.length > MAX_DIMS) {
    fail('E_CHECKPOINT', `${what} must be a tuple of at most ${MAX_DIMS} integers, found ${describe(v)}`);
  }
  return v.map((d, i) => expectIndex(d, `${what}[${i}]`, MAX_ELEMENTS));
}

interface PendingTensor {
  tensor: Tensor;
  storage: TorchStorage;
  offset: number;
  stride: number[];
}

export class TensorRebuilder {
  private pending: PendingTensor[] = [];
  constructor(readonly budget: Budget) {}

  /** `storage[offset]` viewed with (size, stride): checked now, copied in `finish()`. */
  rebuild(storage: unknown, offset: unknown, size: unknown, stride: unknown): Tensor {
    if (!(storage instanceof TorchStorage)) {
      fail('E_CHECKPOINT', `a tensor rebuild needs a storage, found ${describe(storage)}`);
    }
    const at = expectIndex(offset, 'tensor storage offset', MAX_ELEMENTS);
    const shape = expectDims(size, 'tensor size');
    const strides = expectDims(stride, 'tensor stride');
    const name = `tensor ${storage.dtype}[${shape.join(', ')}] in storage ${JSON.stringify(storage.key)}`;
    checkView(storage.numel, at, shape, strides, name);
    this.budget.spend(numelOf(shape) * outputElementSize(storage.dtype), name);
    const tensor = new Tensor(storage.dtype, shape, new Uint8Array(0));
    this.pending.push({ tensor, storage, offset: at, stride: strides });
    return tensor;
  }

  /** Copies every pending tensor out of its storage; all storages must have their bytes by now. */
  finish(): void {
    const views = new Map<TorchStorage, ReturnType<typeof elementView>>();
    for (const p of this.pending) {
      const { storage } = p;
      if (storage.bytes === null) fail('E_CHECKPOINT', `storage ${JSON.stringify(storage.key)} has no data in the file`);
      if (storage.bytes.length !== storage.numel * ELEMENT_SIZE[storage.dtype]) {
        fail('E_CHECKPOINT', `storage ${JSON.stringify(storage.key)} holds ${storage.bytes.length} bytes, ` +
          `expected ${storage.numel} × ${ELEMENT_SIZE[storage.dtype]}`);
      }
      let view = views.get(storage);
      if (!view) {
        view = elementView(storage.bytes, storage.dtype, storage.littleEndian);
        views.set(storage, view);
      }
      p.tensor.data = fromRaw(gather(view, p.offset, p.tensor.shape, p.stride), storage.dtype);
    }
    this.pending = [];
  }
}
