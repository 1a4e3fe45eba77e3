/**
 * Seeded random numbers that are identical on every machine and in the browser.
 *
 * xoshiro128** over 32-bit integers (Math.imul), seeded through splitmix32 from (seed, stream),
 * so sample i of seed s can be drawn on its own: shards and resumed builds draw exactly the
 * same z as one uninterrupted run. Normals use Box–Muller in float64; V8's Math.log/sin/cos are
 * software implementations (fdlibm), so the results are bit-identical across platforms.
 */

function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [z >>> 0, state];
}

export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  constructor(seed: number, stream = 0) {
    if (!Number.isInteger(seed) || !Number.isInteger(stream) || stream < 0 || stream >= 2 ** 32) {
      throw new RangeError(`seed must be an integer and stream in [0, 2^32), got ${seed}, ${stream}`);
    }
    // Hash seed and stream separately before mixing, so nearby (seed, stream) pairs differ fully.
    let st = splitmix32(seed | 0)[0] ^ splitmix32(Math.imul(stream | 0, 0x27d4eb2d) ^ 0x5bd1e995)[0];
    const out: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [v, next] = splitmix32(st);
      st = next;
      out.push(v);
    }
    [this.s0, this.s1, this.s2, this.s3] = out;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  /** Uniform in (0, 1), never exactly 0 (safe for log), with 53 random bits. */
  nextUniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }

  /** Standard normal (Box–Muller, both values used). */
  nextNormal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const u1 = this.nextUniform();
    const u2 = this.nextUniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  fillNormal(out: Float32Array, scale = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.nextNormal() * scale;
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** z ~ N(0, I) of sample `index` under `seed`: independent of which other samples are drawn. */
export function latentZ(seed: number, index: number, zDim: number, out = new Float32Array(zDim)): Float32Array {
  return new Xoshiro128(seed, index).fillNormal(out);
}

/** z for a batch of consecutive sample indices, laid out [B, zDim]. */
export function latentBatch(seed: number, first: number, count: number, zDim: number): Float32Array {
  const out = new Float32Array(count * zDim);
  for (let b = 0; b < count; b++) latentZ(seed, first + b, zDim, out.subarray(b * zDim, (b + 1) * zDim));
  return out;
}
