/**
 * Nested dicts/lists of tensors → one flat map with dotted names, the way PyTorch names a state dict
 * (`{'g_ema': {'conv1': {'weight': t}}}` → `g_ema.conv1.weight`; list items by index).
 */
import { fail } from '../../core/errors.ts';
import { Tensor } from './tensor.ts';
import { describe } from './values.ts';
import type { PyValue } from './values.ts';
import { walkBudget } from './walk-budget.ts';

const MAX_DEPTH = 64;

function keyName(k: unknown): string {
  if (typeof k === 'string') return k;
  if (typeof k === 'number' || typeof k === 'bigint') return String(k);
  return fail('E_CHECKPOINT', `cannot name a tensor under a dict key that is ${describe(k)}`);
}

/**
 * Every tensor under `value`, in file order. Values other than dicts, lists, tuples and tensors are
 * skipped (NVIDIA network objects: use `moduleStateDict`). A name that occurs twice, or a container
 * that contains itself, is an E_CHECKPOINT error. A container that holds no tensor is walked once
 * however often it is shared; the rest of the walk is bounded by `fileBytes` (./walk-budget.ts).
 */
export function flattenTensors(value: PyValue, fileBytes: number): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const onPath = new Set<unknown>();
  const noTensors = new Set<unknown>();
  const step = walkBudget(fileBytes, 'the checkpoint');
  const visit = (v: unknown, name: string, depth: number): void => {
    step();
    if (v instanceof Tensor) {
      if (out.has(name)) fail('E_CHECKPOINT', `two tensors are named ${JSON.stringify(name)}`);
      out.set(name, v);
      return;
    }
    if ((!(v instanceof Map) && !Array.isArray(v)) || noTensors.has(v)) return;
    if (onPath.has(v)) fail('E_CHECKPOINT', `the container at ${JSON.stringify(name)} contains itself`);
    if (depth >= MAX_DEPTH) fail('E_CHECKPOINT', `containers nested deeper than ${MAX_DEPTH} at ${JSON.stringify(name.slice(0, 200))}`);
    onPath.add(v);
    const before = out.size;
    const join = (k: string) => (name === '' ? k : `${name}.${k}`);
    if (v instanceof Map) for (const [k, child] of v) visit(child, join(keyName(k)), depth + 1);
    else v.forEach((child, i) => visit(child, join(String(i)), depth + 1));
    onPath.delete(v);
    if (out.size === before) noTensors.add(v);
  };
  visit(value, '', 0);
  return out;
}
