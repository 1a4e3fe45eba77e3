/**
 * Text directions and style directions (DESIGN §1), as the reference code computes them:
 *   t(p) = n(mean_k n(E_T(template_k(p)))),   Δt = n(t(target) − t(neutral))
 *   r_c = Δi_c · Δt;  r_c := 0 where |r_c| < β;  r := r / max|r|;  Δs_c = r_c σ_c
 * The paper's Eq. 7 omits the σ scaling; the reference applies it, and so do we.
 */
import { fail } from './errors.ts';
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

/** β values at which the active-channel curve is stored: 0.00, 0.01, …, 0.50. */
export const BETA_CURVE_GRID: readonly number[] = Array.from({ length: 51 }, (_, i) => i / 100);

/**
 * The α an edit may use (DESIGN §1, §5): the reference's slider, [−10, 10]. s' = s + α Δs moves
 * the strongest channel by α σ, so past ±10 an edit leaves the codes the generator was trained on.
 */
export const ALPHA_LIMITS: readonly [number, number] = [-10, 10];

export function checkAlpha(alpha: number, what = 'α'): void {
  const [lo, hi] = ALPHA_LIMITS;
  if (!(alpha >= lo && alpha <= hi)) {
    fail('E_INPUT', `${what} must be in [${lo}, ${hi}], got ${alpha}`, `s' = s + α Δs moves the strongest channel α σ; the reference's slider stops at ±${hi}`);
  }
}

export function checkBeta(beta: number): void {
  if (!(beta >= 0 && beta <= 1)) fail('E_INPUT', `β must be in [0, 1], got ${beta}`, 'the reference uses 0.08–0.30');
}

/**
 * What Δs needs of a build: the rows of its relevance table (channels of its channel set) and
 * the generator's number of style channels. relevance.arrow as read by store/relevance-arrow.ts
 * is one, in Node and in the browser.
 */
export interface BuildRelevance {
  /** C_total: the length of s and of Δs. */
  total: number;
  dim: number;
  rows: number;
  channel: ArrayLike<number>;
  layerIndex: ArrayLike<number>;
  channelInLayer: ArrayLike<number>;
  /** σ_c of each row's channel. */
  sigma: ArrayLike<number>;
  /** Δi rows [rows, dim]: the fs3 matrix. */
  direction: ArrayLike<number>;
}

/** A channel of a direction with |r_c| ≥ β. */
export interface ActiveChannel {
  channel: number;
  layerIndex: number;
  channelInLayer: number;
  r: number;
  deltaS: number;
}

export interface BuildDirection {
  beta: number;
  betaMode: 'auto' | 'fixed';
  active: number;
  maxAbsR: number;
  /** Δs over all style channels [C_total] (zeros outside the channel set and below β). */
  deltaS: Float32Array;
  betaCurve: { beta: number; active: number }[];
  /** Active channels, largest |Δs| first. */
  channels: ActiveChannel[];
}

/** Δs for a text direction Δt on a build: r = fs3·Δt, β fixed or auto-β, Δs_c = r_c/max|r|·σ_c, zero elsewhere. */
export function directionFromBuild(rel: BuildRelevance, deltaT: Float32Array, beta: number | 'auto', betaFloor = 20): BuildDirection {
  if (deltaT.length !== rel.dim) fail('E_SHAPE', `Δt has ${deltaT.length} values, the build's embeddings have ${rel.dim}`);
  const r = relevanceScores(rel.direction, deltaT);
  const chosen = beta === 'auto' ? autoBeta(r, betaFloor) : beta;
  checkBeta(chosen);
  const sd = styleDirection(r, rel.sigma, chosen);
  const deltaS = new Float32Array(rel.total);
  const channels: ActiveChannel[] = [];
  for (let i = 0; i < rel.rows; i++) {
    deltaS[rel.channel[i]] = sd.deltaS[i];
    if (Math.abs(r[i]) >= chosen && sd.active > 0) {
      channels.push({ channel: rel.channel[i], layerIndex: rel.layerIndex[i], channelInLayer: rel.channelInLayer[i], r: r[i], deltaS: sd.deltaS[i] });
    }
  }
  channels.sort((a, b) => Math.abs(b.deltaS) - Math.abs(a.deltaS) || a.channel - b.channel);
  const counts = betaCurve(r, BETA_CURVE_GRID);
  return {
    beta: chosen,
    betaMode: beta === 'auto' ? 'auto' : 'fixed',
    active: sd.active,
    maxAbsR: sd.maxAbsR,
    deltaS,
    betaCurve: BETA_CURVE_GRID.map((b, i) => ({ beta: b, active: counts[i] })),
    channels,
  };
}
