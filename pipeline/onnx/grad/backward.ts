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
  private readonly shapes = new Map<string, string>();

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

  /** Shape(v), once per value. */
  dynShape(v: string): string {
    let s = this.shapes.get(v);
    if (!s) {
      s = this.op('Shape', [v]);
      this.shapes.set(v, s);
    }
    return s;
  }

  /** `d` reshaped to the shape of `like` (a constant shape when it is fixed). */
  reshapeLike(d: string, like: string): string {
    const s = this.meta(like).shape;
    return this.op('Reshape', [d, s && isStatic(s) ? this.i64(s) : this.dynShape(like)]);
  }

  zerosLike(v: string): string {
    const dtype = this.meta(v).dtype;
    const make = FLOAT_ARRAYS[dtype];
    if (!make) fail('E_GRAD', `${this.label}: no ${dtype} zeros in gradient graphs`);
    return this.op('ConstantOfShape', [this.dynShape(v)], { value: attr.t({ dtype, dims: [1], data: make(1) }) });
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
    const summed = this.op('ReduceSum', [d, this.i64(axes)], { keepdims: attr.i(1) });
    return this.reshapeLike(summed, x);
  }

  /** Swap the last two axes of a value of rank `rank`. */
  transposeLast2(v: string, rank: number): string {
    const perm = Array.from({ length: rank }, (_, i) => i);
    [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
    return this.op('Transpose', [v], { perm: attr.ints(perm) });
  }
}
