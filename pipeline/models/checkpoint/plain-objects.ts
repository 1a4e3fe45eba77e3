/**
 * Plain-data objects that people keep in checkpoints beside the weights, read as inert values.
 * rosinality's train.py saves its command-line arguments, an `argparse.Namespace`, as `args`; it
 * pickles as NEWOBJ(Namespace) + BUILD({attribute: value}). The object becomes an `InertObject`
 * holding those attributes: the class is never looked up, constructed or run.
 */
import { fail } from '../../core/errors.ts';
import type { SafeGlobal } from './torch-globals.ts';
import { InertObject, describe } from './values.ts';
import type { PyValue } from './values.ts';

function inertClass(module: string, name: string): SafeGlobal {
  return {
    construct(args) {
      if (args.length !== 0) fail('E_CHECKPOINT', `${module}.${name} is created with ${args.length} arguments; a plain object has none`);
      return new InertObject(module, name);
    },
  };
}

export const PLAIN_OBJECT_GLOBALS: ReadonlyMap<string, SafeGlobal> = new Map<string, SafeGlobal>([
  ['argparse.Namespace', inertClass('argparse', 'Namespace')],
]);

/** BUILD on an inert object: its state must be a dict of attribute names; false when `target` is not one. */
export function buildInert(target: unknown, state: unknown): boolean {
  if (!(target instanceof InertObject)) return false;
  if (!(state instanceof Map)) {
    fail('E_CHECKPOINT', `${describe(target)} has state ${describe(state)}; only objects whose state is a dict of attributes are read`);
  }
  if (target.attributes.size > 0) fail('E_CHECKPOINT', `${describe(target)} is given its state twice`);
  for (const [k, v] of state) {
    if (typeof k !== 'string') fail('E_CHECKPOINT', `${describe(target)} has an attribute named by ${describe(k)}`);
    target.attributes.set(k, v as PyValue);
  }
  return true;
}
