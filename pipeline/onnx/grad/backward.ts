/**
 * What a vector–Jacobian rule writes with: the gradient graph's builder, the forward values'
 * static types and shapes, and the few recurring pieces of backward graphs (sums of
 * contributions, zeros, un-broadcasting a cotangent back to its input's shape).
 */
import { fail } from '../../core/errors.ts';
import { type Attr, type Dim, type GraphBuilder, type TensorData, attr } from '../graph.ts';
import type { DType } from '../proto.ts';
import type { NodeView } from './model.ts';
import { type Meta, isStatic, sameDim, showShape } from './shapes.ts';

const FLOAT_ARRAYS: Partial<Record<DType, (n: number) => TensorData>> = {
  float32: (n) => new Float32Array(n),
  float64: (n) => new Float64Array(n),
};

export function isFloat(dtype: DType): boolean {
  return dtype in FLOAT_ARRAYS;
}

export class Backward {
  private readonly scalars = new Map<string, string>();

  constructor(
    readonly g: GraphBuilder,
    private readonly metaOf: (value: string) => Meta | undefined,
    readonly label: string,
  ) {}

  fail(n: NodeView, message: string): never {
    return fail('E_GRAD', `${this.label}: ${n.op} node ${n.name}: ${message}`);
  }

  meta(v: string): Meta {
    const m = this.metaOf(v);
    if (!m) fail('E_GRAD', `${this.label}: the type of ${v} is unknown`);
    return m;
  }

  shape(v: string, n: NodeView): Dim[] {
    const s = this.meta(v).shape;
    if (!s) this.fail(n, `the gradient needs the shape of ${v}, which cannot be known statically`);
    return s;
  }

  staticShape(v: string, n: NodeView): number[] {
    const s = this.shape(v, n);
    if (!isStatic(s)) this.fail(n, `the gradient needs a fixed shape for ${v}, found ${showShape(s)}`);
    return s;
  }

  /** The constant integer contents of `v` (axes, pads, indices), or a refusal naming what is needed. */
  ints(v: string, n: NodeView, what: string): number[] {
    const values = this.metaOf(v)?.value;
    if (!values || values.some((x) => typeof x !== 'number')) this.fail(n, `the gradient needs ${what} (${v}) to be a constant`);
    return values as number[];
  }

  op(type: string, inputs: readonly string[], attrs: Record<string, Attr> = {}, hint?: string): string {
    return this.g.op(type, inputs, attrs, hint);
  }

  nodeOut(type: string, inputs: readonly string[], attrs: Record<string, Attr>, count: number): string[] {
    return this.g.node(type, inputs, attrs, { outputs: count });
  }

  /** A shared scalar constant of `dtype`. */
  scalar(value: number, dtype: DType): string {
    const make = FLOAT_ARRAYS[dtype];
    if (!make) fail('E_GRAD', `${this.label}: no ${dtype} constants in gradient graphs`);
    const key = `${dtype}:${value}`;
    let name = this.scalars.get(key);
    if (!name) {
      const data = make(1);
      data[0] = value;
      name = this.g.constant('grad_const', { dtype, dims: [], data });
      this.scalars.set(key, name);
    }
    return name;
  }

  /** A float constant of `dtype` (one-hot tables and the like). */
  floats(values: readonly number[], dims: readonly number[], dtype: DType): string {
    const make = FLOAT_ARRAYS[dtype];
    if (!make) fail('E_GRAD', `${this.label}: no ${dtype} constants in gradient graphs`);
    const data = make(values.length) as Float32Array | Float64Array;
    data.set(values);
    return this.g.constant('grad_const', { dtype, dims, data });
  }

  i64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.g.constI64('grad_ints', values, dims);
  }

  /**
   * `d` reshaped to the shape of `like`, as a constant target: a value's one symbolic size (the
   * batch) becomes -1. No Shape operator: a GPU provider would leave shape computation on the CPU.
   */
  reshapeLike(d: string, like: string, n: NodeView): string {
    const s = this.shape(like, n);
    const symbolic = s.filter((x) => typeof x !== 'number').length;
    if (symbolic > 1) this.fail(n, `the gradient needs to reshape to ${showShape(s)}, which has more than one size not known statically`);
    return this.op('Reshape', [d, this.i64(s.map((x) => (typeof x === 'number' ? x : -1)))]);
  }

  /** Zeros shaped like the forward value `v` (v·0: forward values are finite, and no Shape is needed). */
  zerosLike(v: string): string {
    return this.op('Mul', [v, this.scalar(0, this.meta(v).dtype)]);
  }

  /**
   * `d` (the shape of `x` with some axes 1) broadcast to the shape of `x`: Expand to a constant
   * target when those axes have fixed sizes, else added to x·0 (which has x's shape).
   */
  broadcastLike(d: string, x: string, axes: readonly number[], n: NodeView): string {
    const s = this.shape(x, n);
    if (axes.every((a) => typeof s[a] === 'number')) return this.op('Expand', [d, this.i64(s.map((v) => (typeof v === 'number' ? v : 1)))]);
    return this.op('Add', [this.zerosLike(x), d]);
  }

  neg(v: string): string {
    return this.op('Neg', [v]);
  }

  sum(values: readonly string[]): string {
    if (values.length === 1) return values[0];
    if (values.length === 2) return this.op('Add', [values[0], values[1]]);
    return this.op('Sum', [...values]);
  }

  /**
   * The cotangent `d` of a broadcast result (shape `dShape`) summed back to the shape of `x`:
   * over the leading axes `x` lacks and the axes where `x` has size 1.
   */
  unbroadcast(d: string, dShape: readonly Dim[], x: string, n: NodeView): string {
    const xShape = this.shape(x, n);
    const lead = dShape.length - xShape.length;
    if (lead < 0) this.fail(n, `cotangent ${showShape(dShape)} has a lower rank than its input ${x} ${showShape(xShape)}`);
    const axes: number[] = [];
    for (let i = 0; i < dShape.length; i++) {
      if (i < lead) {
        axes.push(i);
        continue;
      }
      const xd = xShape[i - lead];
      if (sameDim(xd, dShape[i])) continue;
      if (xd === 1) axes.push(i);
      else this.fail(n, `cannot tell statically how ${x} ${showShape(xShape)} broadcast to ${showShape(dShape)}`);
    }
    if (axes.length === 0) return d;
    // Broadcast axes summed keeping them (as size 1), then the leading ones dropped: x's shape exactly.
    const ones = axes.filter((a) => a >= lead);
    const kept = ones.length ? this.op('ReduceSum', [d, this.i64(ones)], { keepdims: attr.i(1) }) : d;
    return lead ? this.op('ReduceSum', [kept, this.i64(axes.filter((a) => a < lead))], { keepdims: attr.i(0) }) : kept;
  }

  /** Swap the last two axes of a value of rank `rank`. */
  transposeLast2(v: string, rank: number): string {
    const perm = Array.from({ length: rank }, (_, i) => i);
    [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
    return this.op('Transpose', [v], { perm: attr.ints(perm) });
  }
}
