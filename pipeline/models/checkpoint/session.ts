/**
 * One load of one stream: its tensor rebuilds, the byte budget (shared with nested streams), and
 * the pickle hooks that answer from the allowlist.
 */
import type { PickleHooks } from './pickle.ts';
import { TensorRebuilder } from './rebuild.ts';
import type { Budget } from './rebuild.ts';
import { safeHooks } from './safe-globals.ts';
import type { TorchStorage } from './values.ts';

export interface LoadSession {
  readonly budget: Budget;
  readonly rebuilder: TensorRebuilder;
  hooks(persistentLoad: (pid: unknown) => unknown): PickleHooks;
}

export function newSession(budget: Budget, loadStorageFromBytes: (bytes: Uint8Array) => TorchStorage): LoadSession {
  const rebuilder = new TensorRebuilder(budget);
  const ctx = { rebuilder, budget, loadStorageFromBytes };
  return { budget, rebuilder, hooks: (persistentLoad) => safeHooks(ctx, persistentLoad) };
}
