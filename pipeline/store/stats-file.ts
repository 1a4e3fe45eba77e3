/**
 * The style-statistics file (`styleatlas stats --out FILE`): μ_c, σ_c of every style channel in
 * float64, as a NumPy `.npz` — members `provenance` (JSON text), `mu` and `sigma` ([C] float64),
 * so `np.load(FILE)["mu"]` reads it. It holds only what determines the numbers (generator,
 * M, seed, ψ, tool version): the same statistics give the same bytes, and the sha256 of those
 * bytes names them in every shard that uses them. Times and hosts live in build.sqlite.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fail } from '../core/errors.ts';
import { sha256Hex } from '../models/bundle.ts';
import { decodeNpz, encodeNpz } from './npz.ts';

export const STATS_FORMAT = 'styleatlas-stats/1';

export interface StatsProvenance {
  format: typeof STATS_FORMAT;
  generator: { id: string; manifestSha256: string };
  /** M samples with seeds seed … seed+M−1, truncated with ψ. */
  samples: number;
  seed: number;
  psi: number;
  channels: number;
  tool: string;
}

export interface StatsFile {
  provenance: StatsProvenance;
  mu: Float64Array;
  sigma: Float64Array;
  /** sha256 of the file's bytes. */
  sha256: string;
}

export function encodeStatsFile(provenance: StatsProvenance, mu: Float64Array, sigma: Float64Array): Uint8Array {
  if (mu.length !== provenance.channels || sigma.length !== provenance.channels) {
    fail('E_SHAPE', `stats: μ has ${mu.length} and σ ${sigma.length} values for ${provenance.channels} channels`);
  }
  return encodeNpz([
    ['provenance', { dtype: 'unicode', text: JSON.stringify(provenance) }],
    ['mu', { dtype: 'float64', shape: [mu.length], data: mu }],
    ['sigma', { dtype: 'float64', shape: [sigma.length], data: sigma }],
  ]);
}

export function readStatsFile(path: string): StatsFile {
  if (!existsSync(path)) fail('E_MISSING', `statistics file ${path} does not exist`, 'compute it with `styleatlas stats --generator DIR --out FILE`');
  const bytes = readFileSync(path);
  const members = decodeNpz(bytes, path);
  const prov = members.get('provenance');
  const mu = members.get('mu');
  const sigma = members.get('sigma');
  if (prov?.dtype !== 'unicode' || mu?.dtype !== 'float64' || sigma?.dtype !== 'float64') {
    fail('E_STORE', `${path} is not a StyleAtlas statistics file (needs provenance text and float64 mu, sigma)`, 'compute it with `styleatlas stats`');
  }
  let provenance: StatsProvenance;
  try {
    provenance = JSON.parse(prov.text) as StatsProvenance;
  } catch {
    return fail('E_STORE', `${path}: its provenance is not JSON`);
  }
  if (provenance.format !== STATS_FORMAT) fail('E_STORE', `${path}: format ${JSON.stringify(provenance.format)}, expected ${STATS_FORMAT}`);
  if (mu.data.length !== provenance.channels || sigma.data.length !== provenance.channels) {
    fail('E_STORE', `${path}: μ has ${mu.data.length} and σ ${sigma.data.length} values, its provenance says ${provenance.channels} channels`);
  }
  return { provenance, mu: mu.data, sigma: sigma.data, sha256: sha256Hex(bytes) };
}

/** The statistics fit a build: same generator bundle, same ψ, one value per style channel. */
export function checkStatsFor(stats: StatsFile, path: string, want: { generator: { id: string; manifestSha256: string }; psi: number; channels: number }): void {
  const g = stats.provenance.generator;
  if (g.id !== want.generator.id || g.manifestSha256 !== want.generator.manifestSha256) {
    fail('E_INPUT', `${path} holds statistics of generator ${g.id} (manifest ${g.manifestSha256.slice(0, 12)}…), not of ${want.generator.id} (${want.generator.manifestSha256.slice(0, 12)}…)`, 'compute them for this generator with `styleatlas stats`');
  }
  if (stats.provenance.psi !== want.psi) fail('E_INPUT', `${path} was computed at ψ = ${stats.provenance.psi}, the build uses --psi ${want.psi}`, 'use the same ψ for statistics and relevance (the reference uses 0.7 for both)');
  if (stats.provenance.channels !== want.channels) fail('E_SHAPE', `${path} has ${stats.provenance.channels} channels, the generator has ${want.channels}`);
}
