/**
 * One load of one stream: its tensor rebuilds, the byte budget (shared with nested streams), and
 * the pickle hooks that answer from the allowlist.
 */
import type { PickleHooks } from './pickle.ts';
import { TensorRebuilder } from './rebuild.ts';
import type { Budget } from './rebuild.ts';
import { type GlobalResolver, safeHooks } from './safe-globals.ts';
import type { TorchStorage } from './values.ts';

export interface LoadSession {
  readonly budget: Budget;
  readonly rebuilder: TensorRebuilder;
  /** The allowlist's hooks, plus the globals `extra` adds for this stream. */
  hooks(persistentLoad: (pid: unknown) => unknown, extra?: GlobalResolver): PickleHooks;
}

export function newSession(budget: Budget, loadStorageFromBytes: (bytes: Uint8Array) => TorchStorage): LoadSession {
  const rebuilder = new TensorRebuilder(budget);
  const ctx = { rebuilder, budget, loadStorageFromBytes };
  return { budget, rebuilder, hooks: (persistentLoad, extra) => safeHooks(ctx, persistentLoad, extra) };
}
