/**
 * Finite-difference checks of the gradient builder, one small graph at a time. A case is a forward
 * graph y = f(inputs); the check differentiates L = Σ y ⊙ r (r random, so dL/dy = r reaches every
 * output) with pipeline/onnx/grad, runs the gradient graph, and compares it with central finite
 * differences of L computed from forward runs alone (L summed in float64 here, not in the graph):
 * along random directions for every differentiated tensor, and along every coordinate of the small
 * ones. Graphs run in float64 where onnxruntime has the kernels; Conv and ConvTranspose exist only
 * in float32, and being linear in each input their differences are exact up to rounding for any step.
 */
import { afterAll, expect, it } from 'vitest';
import { Xoshiro128 } from '../../pipeline/core/rng.ts';
import { ModelSession, type TensorValue } from '../../pipeline/models/runtime.ts';
import { type Dim, GraphBuilder, attr } from '../../pipeline/onnx/graph.ts';
import { differentiate } from '../../pipeline/onnx/grad/index.ts';
import type { DType } from '../../pipeline/onnx/proto.ts';

export type Init = 'normal' | 'positive' | 'away' | 'distinct';

export interface GradInput {
  name: string;
  shape: number[];
  init?: Init;
  /** Explicit values (flattened). */
  values?: number[];
  /** Differentiate with respect to it (default true). */
  wrt?: boolean;
  /** An initializer of the graph (a parameter) instead of a graph input. */
  param?: boolean;
  /** Declare the first dimension symbolic ('batch') in the graph. */
  batch?: boolean;
}

export interface GradCase {
  name: string;
  dtype: 'float32' | 'float64';
  inputs: GradInput[];
  /** Writes the forward op(s); `v` maps input names to graph values. Returns the output value. */
  forward(g: GraphBuilder, v: Record<string, string>, dtype: 'float32' | 'float64'): string;
  /** Relative tolerance (default 1e-6 in float64, 1e-4 in float32). */
  tolerance?: number;
  /** Finite-difference step relative to the input's RMS (default 1e-6 in float64; 0.5 in float32, for ops linear in each input). */
  step?: number;
}

export interface GradReport {
  name: string;
  /** max over checks of |fd − analytic| / (‖grad‖·‖direction‖) */
  worst: number;
  checks: number;
  /** the graph's loss against Σ y·r from the forward run */
  lossError: number;
}

function hashName(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h | 0;
}

function draw(rng: Xoshiro128, n: number, init: Init): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = rng.nextNormal();
    if (init === 'positive') out[i] = 0.5 + Math.abs(z);
    else if (init === 'away') out[i] = Math.sign(z || 1) * (0.3 + Math.abs(z)); // ≥ 0.3 from kinks at 0
    else out[i] = z;
  }
  if (init === 'distinct') {
    // A shuffled ladder 0.1 apart: no ties, and small steps never reorder it.
    const ladder = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.1);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(((rng.nextNormal() + 10) * 7919) % (i + 1));
      [ladder[i], ladder[j]] = [ladder[j], ladder[i]];
    }
    out.set(ladder);
  }
  return out;
}

function tensor(dtype: 'float32' | 'float64', data: Float64Array, dims: readonly number[]): TensorValue {
  return dtype === 'float64' ? { type: 'float64', data: Float64Array.from(data), dims } : { type: 'float32', data: Float32Array.from(data), dims };
}

function shapeOf(inp: GradInput): Dim[] {
  return inp.batch ? ['batch', ...inp.shape.slice(1)] : inp.shape;
}

const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, x) => s + x * x, 0));

export async function checkGradient(c: GradCase): Promise<GradReport> {
  const rng = new Xoshiro128(hashName(c.name), 0);
  const values = new Map(c.inputs.map((i) => [i.name, i.values ? Float64Array.from(i.values) : draw(rng, i.shape.reduce((a, b) => a * b, 1), i.init ?? 'normal')]));
  const dtype: DType = c.dtype;

  // Forward with every input a graph input (for the differences).
  const fg = new GraphBuilder(`${c.name}_forward`);
  const fv = Object.fromEntries(c.inputs.map((i) => [i.name, fg.input(i.name, dtype, shapeOf(i))]));
  fg.output(c.forward(fg, fv, c.dtype), 'y', dtype);
  const forward = await ModelSession.open(fg.toBytes(), `${c.name} forward`);
  const run = async (vals: Map<string, Float64Array>) => {
    const feeds = Object.fromEntries(c.inputs.map((i) => [i.name, tensor(c.dtype, vals.get(i.name)!, i.shape)]));
    return (await forward.run(feeds)).y;
  };
  const y0 = await run(values);
  const r = draw(rng, y0.data.length, 'normal');
  const lossAt = async (vals: Map<string, Float64Array>) => {
    const y = (await run(vals)).data as ArrayLike<number>;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * r[i];
    return s;
  };

  // The loss graph, parameters as initializers, differentiated.
  const lg = new GraphBuilder(`${c.name}_loss`);
  const lv: Record<string, string> = {};
  for (const i of c.inputs) {
    lv[i.name] = i.param
      ? lg.initializer(i.name, { dtype, dims: i.shape, data: c.dtype === 'float64' ? values.get(i.name)! : Float32Array.from(values.get(i.name)!) })
      : lg.input(i.name, dtype, shapeOf(i));
  }
  // r's first dimension is symbolic too when the batch is: a fixed size against a symbol would not be known to match.
  const rIn = lg.input('r', dtype, c.inputs.some((i) => i.batch) ? ['batch', ...y0.dims.slice(1)] : y0.dims);
  const loss = lg.op('ReduceSum', [lg.op('Mul', [c.forward(lg, lv, c.dtype), rIn])], { keepdims: attr.i(0) }, 'loss_value');
  lg.node('Identity', [loss], {}, { outputs: ['l'] });
  lg.output('l', 'l', dtype, []);
  const wrt = c.inputs.filter((i) => i.wrt !== false).map((i) => i.name);
  const grad = differentiate(lg, { loss: 'l', wrt }, c.name);
  const session = await ModelSession.open(grad.builder.toBytes(), `${c.name} gradient`);
  const feeds: Record<string, TensorValue> = { r: tensor(c.dtype, r, y0.dims) };
  for (const i of c.inputs) if (!i.param || wrt.includes(i.name)) feeds[i.name] = tensor(c.dtype, values.get(i.name)!, i.shape);
  const out = await session.run(feeds);

  const base = await lossAt(values);
  const lossError = Math.abs((out.loss.data as ArrayLike<number>)[0] - base) / Math.max(1, Math.abs(base));
  let worst = 0;
  let checks = 0;
  for (const name of wrt) {
    const g = Float64Array.from(out[grad.gradOutputs[name]].data as ArrayLike<number>);
    const x = values.get(name)!;
    const scale = Math.max(norm(x) / Math.sqrt(x.length), 1e-3);
    const h = (c.step ?? (c.dtype === 'float64' ? 1e-6 : 0.5)) * scale;
    const directions: Float64Array[] = [0, 1, 2].map(() => draw(rng, x.length, 'normal'));
    if (x.length <= 64) for (let k = 0; k < x.length; k++) directions.push(Float64Array.from({ length: x.length }, (_, j) => (j === k ? 1 : 0)));
    for (const v of directions) {
      const at = (t: number) => new Map([...values, [name, x.map((xi, j) => xi + t * v[j])]]);
      const fd = ((await lossAt(at(h))) - (await lossAt(at(-h)))) / (2 * h);
      const analytic = g.reduce((s, gi, j) => s + gi * v[j], 0);
      const err = Math.abs(fd - analytic) / Math.max(norm(g) * norm(v), 1e-12);
      worst = Math.max(worst, err);
      checks++;
    }
  }
  await forward.release();
  await session.release();
  return { name: c.name, worst, checks, lossError };
}

export function defaultTolerance(c: GradCase): number {
  return c.tolerance ?? (c.dtype === 'float64' ? 1e-6 : 1e-4);
}

/** One `it` per case; the worst error of each is printed once at the end (the closing note quotes them). */
export function gradientSuite(title: string, cases: readonly GradCase[]): void {
  const reports: GradReport[] = [];
  for (const c of cases) {
    it(`${c.name}: analytic gradient = finite differences (${c.dtype})`, async () => {
      const r = await checkGradient(c);
      reports.push(r);
      expect(r.lossError, `${c.name} loss`).toBeLessThan(c.dtype === 'float64' ? 1e-12 : 1e-5);
      expect(r.worst, `${c.name} gradient`).toBeLessThan(defaultTolerance(c));
    });
  }
  afterAll(() => console.log(`${title} finite-difference checks (worst relative error):\n${reports.map((r) => `  ${r.name}: ${r.worst.toExponential(2)} over ${r.checks} checks`).join('\n')}`));
}
