/** What the live box shows in words: coded errors, status lines, numbers and file names. */
import { isStyleAtlasError } from '../../../../pipeline/core/errors.ts';

export function message(e: unknown): string {
  if (isStyleAtlasError(e)) return `${e.code}: ${e.message}${e.hint ? ` — ${e.hint}` : ''}`;
  return `Something failed: ${(e as Error)?.message ?? String(e)}`;
}

export function setStatus(el: HTMLElement, text: string, kind: 'busy' | 'error' | 'ok' = 'ok'): void {
  el.textContent = text;
  el.classList.toggle('busy', kind === 'busy');
  el.classList.toggle('error', kind === 'error');
}

export const num = (v: number, digits = 4) => (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : v.toFixed(digits));
export const fileStem = (a: string, b: string) =>
  `${a}-to-${b}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'direction';
