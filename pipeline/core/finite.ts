import { fail } from './errors.ts';

/** E_NUMERIC naming the first bad element, so a NaN never flows silently into results. */
export function assertFinite(data: ArrayLike<number>, what: string): void {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) fail('E_NUMERIC', `${what} has ${data[i]} at flat index ${i}`, 'check the inputs (styles, latents) for NaN/Inf');
  }
}
