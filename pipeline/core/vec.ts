/** Small vector helpers on typed arrays; float64 accumulation. */

export function dot(a: ArrayLike<number>, b: ArrayLike<number>, n = a.length, ao = 0, bo = 0): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
  return s;
}

export function norm(a: ArrayLike<number>, n = a.length, off = 0): number {
  return Math.sqrt(dot(a, a, n, off, off));
}

/** n(v) = v / ‖v‖ into `out`; a zero vector stays zero (and the norm 0 is returned). */
export function normalizeInto(v: ArrayLike<number>, out: Float64Array | Float32Array, n = v.length, off = 0): number {
  const len = norm(v, n, off);
  const inv = len > 0 ? 1 / len : 0;
  for (let i = 0; i < n; i++) out[i] = v[off + i] * inv;
  return len;
}

export function normalized(v: ArrayLike<number>): Float32Array {
  const out = new Float32Array(v.length);
  normalizeInto(v, out);
  return out;
}

/** Normalise each row of a [rows, d] matrix in place. */
export function normalizeRows(m: Float32Array, d: number): void {
  for (let r = 0; r < m.length / d; r++) {
    const len = norm(m, d, r * d);
    const inv = len > 0 ? 1 / len : 0;
    for (let i = 0; i < d; i++) m[r * d + i] *= inv;
  }
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = norm(a);
  const nb = norm(b);
  return na > 0 && nb > 0 ? dot(a, b) / (na * nb) : 0;
}
