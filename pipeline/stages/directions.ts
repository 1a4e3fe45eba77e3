/**
 * Δs for a prompt pair on a finished build (DESIGN §1): r = fs3·Δt, β fixed or chosen by the
 * reference's auto-β rule, Δs_c = r_c/max|r|·σ_c on the build's channel set, zero elsewhere.
 */
import { fail } from '../core/errors.ts';
import { autoBeta, betaCurve, relevanceScores, styleDirection } from '../core/directions.ts';
import type { FinishedBuild } from './build-reader.ts';

/** β values at which the active-channel curve is stored: 0.00, 0.01, …, 0.50. */
export const BETA_CURVE_GRID: readonly number[] = Array.from({ length: 51 }, (_, i) => i / 100);

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

export function checkBeta(beta: number): void {
  if (!(beta >= 0 && beta <= 1)) fail('E_INPUT', `β must be in [0, 1], got ${beta}`, 'the reference uses 0.08–0.30');
}

export function directionFromBuild(build: FinishedBuild, deltaT: Float32Array, beta: number | 'auto', betaFloor = 20): BuildDirection {
  if (deltaT.length !== build.dim) fail('E_SHAPE', `Δt has ${deltaT.length} values, the build's embeddings have ${build.dim}`);
  const t = build.table;
  const r = relevanceScores(t.direction, deltaT);
  const chosen = beta === 'auto' ? autoBeta(r, betaFloor) : beta;
  checkBeta(chosen);
  const sigma = Float64Array.from(t.channel, (c) => build.sigma[c]);
  const sd = styleDirection(r, sigma, chosen);
  const deltaS = new Float32Array(build.layout.total);
  const channels: ActiveChannel[] = [];
  for (let i = 0; i < t.rows; i++) {
    deltaS[t.channel[i]] = sd.deltaS[i];
    if (Math.abs(r[i]) >= chosen && sd.active > 0) {
      channels.push({ channel: t.channel[i], layerIndex: t.layerIndex[i], channelInLayer: t.channelInLayer[i], r: r[i], deltaS: sd.deltaS[i] });
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
