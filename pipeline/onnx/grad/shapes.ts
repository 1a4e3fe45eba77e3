/**
 * Static shapes for the gradient builder. A dimension is a number or a symbol ('batch'); products
 * of symbols are written 'batch*h' (with a leading factor when there is one, '3*batch'), so
 * Reshape's -1 and Flatten can be followed through symbolic batch sizes. Small integer tensors
 * (shapes, axes, pads) carry their values, which may be symbolic too (`Shape(x)` is ['batch', 3]).
 */
import { fail } from '../../core/errors.ts';
import type { Dim } from '../graph.ts';
import type { DType } from '../proto.ts';

export interface Meta {
  dtype: DType;
  /** Undefined when it cannot be known statically. */
  shape?: Dim[];
  /** The elements of a small constant (or shape-valued) tensor, flattened. */
  value?: Dim[];
}

interface Product {
  coef: number;
  syms: string[];
}

function product(d: Dim): Product {
  if (typeof d === 'number') return { coef: d, syms: [] };
  const parts = d.split('*');
  let coef = 1;
  const syms: string[] = [];
  for (const p of parts) {
    if (/^\d+$/.test(p)) coef *= Number(p);
    else syms.push(p);
  }
  return { coef, syms: syms.sort() };
}

function format(p: Product): Dim {
  if (p.syms.length === 0) return p.coef;
  if (p.coef === 0) return 0;
  return p.coef === 1 ? p.syms.join('*') : `${p.coef}*${p.syms.join('*')}`;
}

export function mulDims(dims: readonly Dim[]): Dim {
  const out: Product = { coef: 1, syms: [] };
  for (const d of dims) {
    const p = product(d);
    out.coef *= p.coef;
    out.syms.push(...p.syms);
  }
  out.syms.sort();
  return format(out);
}

/** total / part, exactly (numbers divide, symbols cancel), or undefined when it does not. */
export function divDim(total: Dim, part: Dim): Dim | undefined {
  const t = product(total);
  const p = product(part);
  if (p.coef === 0 || t.coef % p.coef !== 0) return undefined;
  const syms = [...t.syms];
  for (const s of p.syms) {
    const i = syms.indexOf(s);
    if (i < 0) return undefined;
    syms.splice(i, 1);
  }
  return format({ coef: t.coef / p.coef, syms });
}

export function sameDim(a: Dim, b: Dim): boolean {
  return format(product(a)) === format(product(b));
}

export function isStatic(shape: readonly Dim[]): shape is number[] {
  return shape.every((d) => typeof d === 'number');
}

export function showShape(shape: readonly Dim[] | undefined): string {
  return shape ? `[${shape.join(', ')}]` : '[unknown]';
}

/** numpy broadcasting of two shapes; a symbol against a fixed size > 1 takes the size. */
export function broadcast(a: readonly Dim[], b: readonly Dim[], where: string): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = i < n - a.length ? 1 : a[i - (n - a.length)];
    const y = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (sameDim(x, y) || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else if (typeof x === 'number' && typeof y === 'number') fail('E_GRAD', `${where}: shapes ${showShape(a)} and ${showShape(b)} do not broadcast`);
    else if (typeof x === 'number') out.push(x);
    else if (typeof y === 'number') out.push(y);
    else fail('E_GRAD', `${where}: cannot tell statically how ${showShape(a)} and ${showShape(b)} broadcast`);
  }
  return out;
}

/** A negative axis counted from the end, checked against the rank. */
export function normAxis(axis: number, rank: number, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) fail('E_GRAD', `${where}: axis ${axis} is outside rank ${rank}`);
  return a;
}
