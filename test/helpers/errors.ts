/** The StyleAtlasError `f` throws; anything else (or nothing) fails the test. */
import { expect } from 'vitest';
import { StyleAtlasError } from '../../pipeline/core/errors.ts';

export function thrownBy(f: () => unknown): StyleAtlasError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(StyleAtlasError);
    return e as StyleAtlasError;
  }
  throw new Error('expected a StyleAtlasError, got none');
}
