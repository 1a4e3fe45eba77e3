/**
 * One operator's rule: its forward typing (output types, shapes and — for small integer tensors —
 * values, from the inputs') beside its vector–Jacobian product (input cotangents from output
 * cotangents), as micrograd and JAX's defvjp keep forward and backward together. An operator with
 * `infer` but no `vjp` has no derivative to take (comparisons, shapes, indices).
 */
import { fail } from '../../core/errors.ts';
import type { Backward } from './backward.ts';
import type { NodeView } from './model.ts';
import type { Meta } from './shapes.ts';

export type Cotangent = string | undefined;

export interface OpRule {
  infer(n: NodeView, ins: readonly (Meta | undefined)[], label: string): Meta[];
  /**
   * `dys[k]` is the cotangent of output k (undefined: zero); `need[i]` says whether input i
   * needs one. Returns one entry per input (undefined where not needed or zero).
   */
  vjp?(b: Backward, n: NodeView, dys: readonly Cotangent[], need: readonly boolean[]): Cotangent[];
}

/** Input `i`'s type, which the rule cannot do without. */
export function input(n: NodeView, ins: readonly (Meta | undefined)[], i: number, label: string): Meta {
  const m = ins[i];
  if (!m) fail('E_GRAD', `${label}: ${n.op} node ${n.name}: input ${i} (${n.inputs[i] || 'omitted'}) has no known type`);
  return m;
}

/** Input `i`'s shape, which the rule cannot do without. */
export function inputShape(n: NodeView, ins: readonly (Meta | undefined)[], i: number, label: string): NonNullable<Meta['shape']> {
  const s = input(n, ins, i, label).shape;
  if (!s) fail('E_GRAD', `${label}: ${n.op} node ${n.name}: the shape of input ${i} (${n.inputs[i]}) is unknown`);
  return s;
}

export function where(n: NodeView, label: string): string {
  return `${label}: ${n.op} node ${n.name}`;
}
