/**
 * The allowlist: how the pickle parser's import/call opcodes are answered. A global that is not in
 * the table is refused at the moment the pickle names it, so nothing after it is even decoded.
 */
import { fail } from '../../core/errors.ts';
import { NUMPY_GLOBALS, buildNumpy } from './numpy-globals.ts';
import { PERSISTENT_GLOBALS } from './persistent-globals.ts';
import { PLAIN_OBJECT_GLOBALS, buildInert } from './plain-objects.ts';
import type { PickleHooks } from './pickle.ts';
import { TORCH_GLOBALS } from './torch-globals.ts';
import type { GlobalContext, SafeGlobal } from './torch-globals.ts';
import { PyGlobal, describe } from './values.ts';

let table: ReadonlyMap<string, SafeGlobal> | null = null;

function safeGlobals(): ReadonlyMap<string, SafeGlobal> {
  table ??= new Map([...TORCH_GLOBALS, ...NUMPY_GLOBALS, ...PERSISTENT_GLOBALS, ...PLAIN_OBJECT_GLOBALS]);
  return table;
}

/**
 * Globals one kind of stream adds to the table (a TorchScript archive's `__torch__` classes):
 * the entry for a qualified name, or undefined to refuse it.
 */
export type GlobalResolver = (qualifiedName: string) => SafeGlobal | undefined;

/** The qualified names the reader accepts, for documentation and tests. */
export function allowedGlobals(): string[] {
  return [...safeGlobals().keys()].sort();
}

const REFUSAL_HINT =
  'Nothing in the file was run. If it comes from a source you trust, load it in Python and re-save ' +
  "only the weights: torch.save(model.state_dict(), 'weights.pt').";

/** Printable form of a name taken from the file, so an error message cannot be abused. */
function printable(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 120 ? `${clean.slice(0, 120)}…` : clean;
}

export function refuseGlobal(qualifiedName: string): never {
  return fail('E_CHECKPOINT',
    `refusing global ${printable(qualifiedName)}: checkpoints may only contain tensors and plain containers`, REFUSAL_HINT);
}

export function safeHooks(ctx: GlobalContext, persistentLoad: (pid: unknown) => unknown, extra?: GlobalResolver): PickleHooks {
  const entryOf = (qualified: string): SafeGlobal | undefined => safeGlobals().get(qualified) ?? extra?.(qualified);
  const lookup = (callable: unknown, opcode: string): SafeGlobal => {
    if (!(callable instanceof PyGlobal)) fail('E_CHECKPOINT', `${opcode} of ${describe(callable)}, which is not callable`);
    return entryOf(callable.qualifiedName) ?? refuseGlobal(callable.qualifiedName);
  };
  return {
    findGlobal(module, name) {
      const qualified = `${module}.${name}`;
      if (!entryOf(qualified)) refuseGlobal(qualified);
      return new PyGlobal(module, name);
    },
    reduce(callable, args) {
      const entry = lookup(callable, 'REDUCE');
      if (!entry.call) refuseGlobal(`${(callable as PyGlobal).qualifiedName} (called)`);
      return entry.call(args, ctx);
    },
    newObject(cls, args) {
      const entry = lookup(cls, 'NEWOBJ');
      if (!entry.construct) refuseGlobal(`${(cls as PyGlobal).qualifiedName} (instantiated)`);
      return entry.construct(args, ctx);
    },
    build(target, state) {
      // Python skips BUILD of a falsy state on objects without __setstate__ (an OrderedDict's empty vars()).
      if (state === null || (state instanceof Map && state.size === 0)) return;
      // module.state_dict() is an OrderedDict carrying a `_metadata` attribute (per-module
      // versions), restored by BUILD with {'_metadata': dict}: plain data, and not needed.
      if (target instanceof Map && state instanceof Map && state.size === 1 && state.get('_metadata') instanceof Map) return;
      if (buildNumpy(target, state, ctx) || buildInert(target, state)) return;
      fail('E_CHECKPOINT', `refusing BUILD of ${describe(target)} with state ${describe(state)}: only plain data is accepted`);
    },
    persistentLoad,
  };
}
