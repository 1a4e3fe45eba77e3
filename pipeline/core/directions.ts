/**
 * Text directions and style directions (DESIGN §1), as the reference code computes them:
 *   t(p) = n(mean_k n(E_T(template_k(p)))),   Δt = n(t(target) − t(neutral))
 *   r_c = Δi_c · Δt;  r_c := 0 where |r_c| < β;  r := r / max|r|;  Δs_c = r_c σ_c
 * The paper's Eq. 7 omits the σ scaling; the reference applies it, and so do we.
 */
import { dot, norm, normalizeInto } from './vec.ts';

/** t(p) from the K template embeddings of one prompt, laid out [K, D]. */
export function promptEmbedding(embeds: ArrayLike<number>, k: number, d: number): Float32Array {
  const mean = new Float64Array(d);
  const row = new Float64Array(d);
  for (let i = 0; i < k; i++) {
    normalizeInto(embeds, row, d, i * d);
    for (let j = 0; j < d; j++) mean[j] += row[j] / k;
  }
  const out = new Float32Array(d);
  normalizeInto(mean, out);
  return out;
}

export interface TextDirection {
  deltaT: Float32Array;
  /** ‖t(target) − t(neutral)‖ before normalising: small means the prompts barely differ. */
  normBefore: number;
  /** cos(t(neutral), t(target)). */
  cosine: number;
}

export function textDirection(tNeutral: ArrayLike<number>, tTarget: ArrayLike<number>): TextDirection {
  const d = tTarget.length;
  const diff = new Float64Array(d);
  for (let i = 0; i < d; i++) diff[i] = tTarget[i] - tNeutral[i];
  const deltaT = new Float32Array(d);
  const normBefore = normalizeInto(diff, deltaT);
  const nn = norm(tNeutral);
  const nt = norm(tTarget);
  return { deltaT, normBefore, cosine: nn > 0 && nt > 0 ? dot(tNeutral, tTarget) / (nn * nt) : 0 };
}

/** r_c = Δi_c · Δt for every channel of fs3 [C, D]. */
export function relevanceScores(fs3: ArrayLike<number>, deltaT: ArrayLike<number>): Float64Array {
  const d = deltaT.length;
  const c = fs3.length / d;
  const r = new Float64Array(c);
  for (let i = 0; i < c; i++) r[i] = dot(fs3, deltaT, d, i * d, 0);
  return r;
}

/** Channels with |r_c| ≥ β (the reference keeps |r| = β). */
export function activeCount(r: ArrayLike<number>, beta: number): number {
  let n = 0;
  for (let i = 0; i < r.length; i++) if (Math.abs(r[i]) >= beta) n++;
  return n;
}

export interface StyleDirection {
  /** Δs per channel, in the same channel order as r and σ. */
  deltaS: Float32Array;
  active: number;
  /** max |r_c| over all channels: β above this leaves nothing active. */
  maxAbsR: number;
}

export function styleDirection(r: ArrayLike<number>, sigma: ArrayLike<number>, beta: number): StyleDirection {
  if (r.length !== sigma.length) throw new RangeError(`r has ${r.length} channels, σ has ${sigma.length}`);
  let maxAbsR = 0;
  let keptMax = 0;
  let active = 0;
  for (let i = 0; i < r.length; i++) {
    const a = Math.abs(r[i]);
    maxAbsR = Math.max(maxAbsR, a);
    if (a >= beta) {
      active++;
      keptMax = Math.max(keptMax, a);
    }
  }
  const deltaS = new Float32Array(r.length);
  if (active > 0 && keptMax > 0) {
    for (let i = 0; i < r.length; i++) if (Math.abs(r[i]) >= beta) deltaS[i] = (r[i] / keptMax) * sigma[i];
  }
  return { deltaS, active: keptMax > 0 ? active : 0, maxAbsR };
}

/** The reference's β grid: 0.10, 0.11, …, 0.29 (as exact hundredths). */
export const AUTO_BETA_GRID: readonly number[] = Array.from({ length: 20 }, (_, i) => (10 + i) / 100);

/** The largest β on the grid whose active-channel count exceeds `floor`, else 0.10. */
export function autoBeta(r: ArrayLike<number>, floor = 20): number {
  for (let i = AUTO_BETA_GRID.length - 1; i >= 0; i--) if (activeCount(r, AUTO_BETA_GRID[i]) > floor) return AUTO_BETA_GRID[i];
  return AUTO_BETA_GRID[0];
}

/** Active channels as a function of β: the curve stored with each direction. */
export function betaCurve(r: ArrayLike<number>, betas: readonly number[]): number[] {
  return betas.map((b) => activeCount(r, b));
}
