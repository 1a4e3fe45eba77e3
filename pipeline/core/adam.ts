/**
 * Adam (Kingma & Ba), as torch.optim.Adam computes it with its defaults (β1 0.9, β2 0.999, ε 1e-8,
 * no weight decay, no AMSGrad), and the learning-rate schedule of StyleCLIP's
 * optimization/run_optimization.py. Pure maths on typed arrays: method 1 steps w+ with it, the
 * latent mapper (issue 12) its weights.
 *
 * The moments are kept in float64 and each update rounded once into the float32 parameters, so the
 * same gradients give the same parameters bit for bit on every machine (torch keeps float32 moments;
 * the two agree to ~1e-7 relative, see test/parity/adam.test.ts).
 */

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** What a checkpoint holds to continue Adam exactly: the step count and both moments. */
export interface AdamState {
  steps: number;
  m: Float64Array;
  v: Float64Array;
}

export class Adam {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  /** Steps taken so far (torch's `state['step']`). */
  steps = 0;

  constructor(
    readonly size: number,
    opts: AdamOptions = {},
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    for (const [k, v] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(v >= 0 && v < 1)) throw new RangeError(`Adam ${k} must be in [0, 1), got ${v}`);
    }
    if (!(this.eps > 0)) throw new RangeError(`Adam eps must be positive, got ${this.eps}`);
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  /** A copy of the moments and step count (for checkpoints). */
  state(): AdamState {
    return { steps: this.steps, m: Float64Array.from(this.m), v: Float64Array.from(this.v) };
  }

  /** Continue from a saved state: the next step() is the one the saved run would have taken. */
  restore(state: AdamState): void {
    if (state.m.length !== this.size || state.v.length !== this.size) {
      throw new RangeError(`Adam over ${this.size} values cannot restore moments of ${state.m.length} and ${state.v.length}`);
    }
    if (!Number.isInteger(state.steps) || state.steps < 0) throw new RangeError(`Adam steps must be an integer ≥ 0, got ${state.steps}`);
    this.m.set(state.m);
    this.v.set(state.v);
    this.steps = state.steps;
  }

  /** One update of `params` in place from `grad` with learning rate `lr`. */
  step(params: Float32Array, grad: ArrayLike<number>, lr: number): void {
    if (params.length !== this.size || grad.length !== this.size) {
      throw new RangeError(`Adam over ${this.size} values got ${params.length} parameters and ${grad.length} gradients`);
    }
    this.steps++;
    const { beta1: b1, beta2: b2, eps, m, v } = this;
    const stepSize = lr / (1 - b1 ** this.steps);
    const correction2 = Math.sqrt(1 - b2 ** this.steps);
    for (let i = 0; i < params.length; i++) {
      const g = grad[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      params[i] = params[i] - (stepSize * m[i]) / (Math.sqrt(v[i]) / correction2 + eps);
    }
  }
}

/**
 * run_optimization.py's `get_lr(t, initial_lr, rampdown=0.25, rampup=0.05)` at t = step / steps:
 * a linear ramp-up over the first 5 % and a half-cosine ramp-down over the last 25 %. Note that it
 * is 0 at step 0, so the official loop's first step only fills Adam's moments.
 */
export function officialLearningRate(t: number, initialLr: number, rampdown = 0.25, rampup = 0.05): number {
  const down = 0.5 - 0.5 * Math.cos(Math.min(1, (1 - t) / rampdown) * Math.PI);
  return initialLr * down * Math.min(1, t / rampup);
}
