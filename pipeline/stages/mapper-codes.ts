/**
 * The W+ codes a mapper trains on and is scored on: seeded samples of the generator (z from each
 * seed as `render` and `edit` draw it, w = mapping(z), truncation ψ — the official trainer's
 * sampled codes at ψ 0.7), or codes people bring (.npy, e4e/pSp latents.pt, read by the one codes
 * reader). Sampled codes are kept as w [N, w_dim] and given to every ws row when a batch is
 * gathered, so 5 000 FFHQ codes take 10 MB, not 180.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { fail } from '../core/errors.ts';
import { latentZ } from '../core/rng.ts';
import { truncate } from '../core/styles.ts';
import type { Generator } from '../models/generator.ts';
import { readLatentCodes } from '../models/latent-codes.ts';

export type CodeSource =
  | { kind: 'seeds'; seeds: string; count: number; psi: number }
  | { kind: 'codes'; file: string; sha256: string; count: number };

/** "0-4999" or "1,5,9-11" for a sorted list of integers (what --seeds options accept). */
export function seedRanges(seeds: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < seeds.length; ) {
    let j = i;
    while (j + 1 < seeds.length && seeds[j + 1] === seeds[j] + 1) j++;
    parts.push(j === i ? String(seeds[i]) : `${seeds[i]}-${seeds[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export class CodeSet {
  private constructor(
    readonly count: number,
    readonly numWs: number,
    readonly wDim: number,
    /** w [N, w_dim] (every row of a code the same) or ws [N, num_ws, w_dim]. */
    private readonly data: Float32Array,
    private readonly perRow: boolean,
    readonly source: CodeSource,
  ) {}

  static async fromSeeds(gen: Generator, seeds: readonly number[], psi: number, chunk = 256): Promise<CodeSet> {
    const { zDim, wDim, numWs } = gen.manifest.architecture;
    const w = new Float32Array(seeds.length * wDim);
    for (let first = 0; first < seeds.length; first += chunk) {
      const part = seeds.slice(first, first + chunk);
      const z = new Float32Array(part.length * zDim);
      part.forEach((seed, b) => latentZ(seed, 0, zDim, z.subarray(b * zDim, (b + 1) * zDim)));
      w.set(truncate(await gen.mapping(z, part.length), gen.wAvg, psi), first * wDim);
    }
    return new CodeSet(seeds.length, numWs, wDim, w, false, { kind: 'seeds', seeds: seedRanges(seeds), count: seeds.length, psi });
  }

  static fromFile(path: string, gen: Generator): CodeSet {
    const { numWs, wDim } = gen.manifest.architecture;
    const { ws, k } = readLatentCodes(path, numWs, wDim);
    const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
    return new CodeSet(k, numWs, wDim, ws, true, { kind: 'codes', file: basename(path), sha256, count: k });
  }

  /** ws [indices.length, num_ws, w_dim] of the given codes. */
  gather(indices: readonly number[]): Float32Array {
    const row = this.numWs * this.wDim;
    const out = new Float32Array(indices.length * row);
    indices.forEach((i, b) => {
      if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`code ${i} of ${this.count}`);
      if (this.perRow) out.set(this.data.subarray(i * row, (i + 1) * row), b * row);
      else for (let k = 0; k < this.numWs; k++) out.set(this.data.subarray(i * this.wDim, (i + 1) * this.wDim), b * row + k * this.wDim);
    });
    return out;
  }

  /** ws of codes first … first + n − 1. */
  range(first: number, n: number): Float32Array {
    return this.gather(Array.from({ length: n }, (_, i) => first + i));
  }
}

/** Held-out codes must be held out: seeded sets may not share a seed. */
export function checkDisjointSeeds(train: readonly number[], test: readonly number[]): void {
  const t = new Set(train);
  const shared = test.filter((s) => t.has(s));
  if (shared.length > 0) fail('E_INPUT', `--test-seeds and --train-seeds share ${shared.length} seed${shared.length > 1 ? 's' : ''} (${seedRanges(shared.slice(0, 5))}${shared.length > 5 ? ', …' : ''}); held-out codes must not be trained on`);
}

export function describeSource(s: CodeSource): string {
  return s.kind === 'seeds' ? `${s.count} seeded samples (seeds ${s.seeds}, ψ ${s.psi})` : `${s.count} codes from ${s.file}`;
}
