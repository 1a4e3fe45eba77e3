/** Shared checks of relevance builds: the columns whose bytes are promised, and coded errors. */
import { join } from 'node:path';
import { expect } from 'vitest';
import { type ErrorCode, StyleAtlasError } from '../../pipeline/core/errors.ts';
import { readRelevanceArrowFile } from '../../pipeline/store/relevance-file.ts';

/** The columns of a build's relevance.arrow that single, resumed and merged builds share exactly. */
export function relevanceColumns(dir: string) {
  const t = readRelevanceArrowFile(join(dir, 'relevance.arrow'));
  return { channel: t.channel, mu: t.mu, sigma: t.sigma, effect: t.effect, consistency: t.consistency, degenerate: t.degenerate, direction: t.direction };
}

/** `p` (a promise, or a function that throws or returns one) fails with this code and message. */
export async function expectCode(p: Promise<unknown> | (() => unknown), code: ErrorCode, message: RegExp): Promise<void> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).toBeInstanceOf(StyleAtlasError);
  expect((err as StyleAtlasError).code).toBe(code);
  expect((err as StyleAtlasError).message).toMatch(message);
}
