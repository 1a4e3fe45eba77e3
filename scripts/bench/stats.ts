/** Repetition statistics: the bench reports spread, never a single run. Pure. */

export interface Spread {
  min: number;
  median: number;
  max: number;
  reps: number;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError('spread: no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { min: s[0], median, max: s[s.length - 1], reps: s.length };
}

/** Seconds taken by `fn`, on the monotonic clock. */
export async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** A duration for the bench's tables: "8.10 ms", "9.02 s", "12.3 s". */
export function duration(s: number): string {
  return s >= 1 ? `${s.toPrecision(3)} s` : `${(1000 * s).toPrecision(3)} ms`;
}
