/** Every operator the gradient builder knows, by ONNX op type. */
import type { OpRule } from '../rule.ts';
import { CONV_RULES } from './conv.ts';
import { ELEMENTWISE_RULES } from './elementwise.ts';
import { LAYOUT_RULES } from './layout.ts';
import { LINALG_RULES } from './linalg.ts';
import { REDUCE_RULES } from './reduce.ts';

export const RULES: Readonly<Record<string, OpRule>> = Object.freeze({
  ...ELEMENTWISE_RULES,
  ...REDUCE_RULES,
  ...LINALG_RULES,
  ...CONV_RULES,
  ...LAYOUT_RULES,
});

/** Operators with a vector–Jacobian rule, sorted (refusals list them). */
export function differentiableOps(): string[] {
  return Object.entries(RULES)
    .filter(([, r]) => r.vjp)
    .map(([k]) => k)
    .sort();
}
