/**
 * The live page's compact text tower (pipeline/onnx/quantise.ts, stages/live-text.ts): the int8
 * graph dequantises exactly the weights an independent TypeScript computation gives, tiny CLIP's
 * int8 Δt agrees with float32's to cosine ≥ 0.999 over the shipped faces prompts, and the
 * catalogue's choice refuses (E_LIVE_TEXT, with the reason) a copy that is too large or disagrees.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Xoshiro128 } from '../../pipeline/core/rng.ts';
import { Encoder } from '../../pipeline/models/encoder.ts';
import { ModelSession, float32, int64 } from '../../pipeline/models/runtime.ts';
import { GraphBuilder, attr } from '../../pipeline/onnx/graph.ts';
import { quantiseWeightsInt8 } from '../../pipeline/onnx/quantise.ts';
import { LIVE_INT8_MIN_COSINE, chooseLiveTextTower, measureAgreement, openTextVariant } from '../../pipeline/stages/live-text.ts';
import { loadTemplates } from '../../pipeline/stages/text-directions.ts';
import { loadPrompts, resolvePrompt } from '../../pipeline/store/prompts.ts';
import { REPO, modelDir } from '../helpers/bundles.ts';

function randn(n: number, seed: number, std = 0.05): Float32Array {
  const rng = new Xoshiro128(seed, 0);
  return Float32Array.from({ length: n }, () => std * rng.nextNormal());
}

/** Independent int8 round trip of one line of weights: s = fround(max|w| / 127), q = round(w / s), w' = fround(q · s). */
function roundTrip(line: number[]): number[] {
  const s = Math.fround(Math.max(...line.map(Math.abs)) / 127);
  return line.map((w) => Math.fround(Math.max(-127, Math.min(127, Math.round(w / s))) * s) + 0); // int8 has no -0
}

describe('weight-only int8', () => {
  it('dequantises in the graph exactly the weights an independent computation gives (Gather rows, Linear [out, in], MatMul [in, out])', async () => {
    const [V, W, O] = [40, 24, 16];
    const table = randn(V * W, 1);
    const linear = randn(O * W, 2); // torch Linear [out, in], read through a Transpose
    const direct = randn(W * O, 3); // MatMul B [in, out]
    table[5 * W + 3] = 0.9; // an outlier sets its row's scale only
    const g = new GraphBuilder('q');
    const ids = g.input('ids', 'int64', [V]);
    const eye = g.input('eye', 'float32', [W, W]);
    g.output(g.op('Gather', [g.initializer('emb', { dtype: 'float32', dims: [V, W], data: table }), ids], { axis: attr.i(0) }), 'rows', 'float32');
    const lw = g.initializer('lin', { dtype: 'float32', dims: [O, W], data: linear });
    g.output(g.op('MatMul', [eye, g.op('Transpose', [lw], { perm: attr.ints([1, 0]) })]), 'lin_t', 'float32');
    g.output(g.op('MatMul', [eye, g.initializer('dir', { dtype: 'float32', dims: [W, O], data: direct })]), 'dir_out', 'float32');
    const bytes = g.toBytes();
    const q = quantiseWeightsInt8(bytes, 'q', 16);
    expect(q.weights.map((w) => [w.name, w.axis])).toEqual([['emb', 0], ['lin', 0], ['dir', 1]]);
    expect(Buffer.from(quantiseWeightsInt8(bytes, 'q', 16).bytes).equals(Buffer.from(q.bytes))).toBe(true); // deterministic
    expect(q.bytes.length).toBeLessThan(bytes.length / 2);

    const eyeData = new Float32Array(W * W);
    for (let i = 0; i < W; i++) eyeData[i * W + i] = 1;
    const order = BigInt64Array.from({ length: V }, (_, i) => BigInt((i * 7) % V));
    const s = await ModelSession.open(q.bytes, 'q.int8');
    const out = await s.run({ ids: int64(order, [V]), eye: float32(eyeData, [W, W]) }).finally(() => s.release());
    const rows = out.rows.data as Float32Array;
    for (let i = 0; i < V; i++) {
      const r = Number(order[i]);
      expect(Array.from(rows.subarray(i * W, (i + 1) * W)), `row ${r}`).toEqual(roundTrip(Array.from(table.subarray(r * W, (r + 1) * W))));
    }
    // I · Wᵀ = Wᵀ [in, out]: column o is output channel o, one scale each.
    const linT = out.lin_t.data as Float32Array;
    for (let o = 0; o < O; o++) {
      expect(Array.from({ length: W }, (_, k) => linT[k * O + o])).toEqual(roundTrip(Array.from(linear.subarray(o * W, (o + 1) * W))));
    }
    const dirOut = out.dir_out.data as Float32Array;
    for (let o = 0; o < O; o++) {
      expect(Array.from({ length: W }, (_, k) => dirOut[k * O + o])).toEqual(roundTrip(Array.from({ length: W }, (_, k) => direct[k * O + o])));
    }
  });

  it("tiny CLIP's int8 text tower: Δt within cosine 0.999 of float32 over the faces prompts, and the catalogue's choice", { timeout: 300_000 }, async () => {
    const dir = modelDir('tiny-clip');
    const enc = await Encoder.open(dir, { parts: ['text'] });
    const templates = loadTemplates();
    const faces = loadPrompts(join(REPO, 'data', 'prompts', 'faces.json'));
    const pairs = faces.prompts.map((p) => resolvePrompt(faces, p)).map((p) => ({ neutral: p.neutral, target: p.target }));
    try {
      const float = readFileSync(join(dir, 'text.onnx'));
      const q = quantiseWeightsInt8(float, 'tiny-clip');
      const variant = await openTextVariant(enc, q.bytes, 'tiny-clip int8', {});
      const a = await measureAgreement(enc, variant, pairs, { templates }).finally(() => variant.release());
      console.log(`tiny-clip int8 text tower: ${q.bytes.length} of ${float.length} bytes; Δt cosine to float32 over ${a.pairs} faces pairs: min ${a.minCosine.toFixed(6)}, median ${a.medianCosine.toFixed(6)}`);
      expect(a.pairs).toBe(pairs.length);
      expect(a.minCosine).toBeGreaterThanOrEqual(LIVE_INT8_MIN_COSINE);
      expect(a.minCosine).toBeLessThan(1); // it is a different tower, not the same one measured twice

      const textPath = join(dir, 'text.onnx');
      const few = pairs.slice(0, 3);
      const opts = { templates, runtime: {}, promptSet: 'faces' };
      expect(await chooseLiveTextTower(enc, textPath, float.length, few, opts)).toEqual({ tower: 'float32', bytes: float.length });
      const int8 = await chooseLiveTextTower(enc, textPath, 2 ** 20, few, opts);
      expect(int8.tower).toBe('int8');
      if (int8.tower !== 'int8') return;
      expect(Buffer.from(int8.data).equals(Buffer.from(q.bytes))).toBe(true);
      expect(int8.agreement).toMatchObject({ pairs: 3, minRequired: 0.999, promptSet: 'faces' });
      const tooBig = await chooseLiveTextTower(enc, textPath, 100_000, few, opts);
      expect(tooBig).toMatchObject({ tower: 'none', code: 'E_LIVE_TEXT' });
      expect(tooBig.tower === 'none' && tooBig.reason).toMatch(/^it is 2\.8 MiB and its int8 copy 0\.8 MiB, both over the 0\.1 MiB/);
      const strict = await chooseLiveTextTower(enc, textPath, 2 ** 20, few, { ...opts, minCosine: 0.9999999 });
      expect(strict.tower === 'none' && strict.reason).toMatch(/^its int8 copy's Δt agrees with float32's only to cosine 0\.99\d+ \(on ".+" → ".+"\), under the 0\.9999999 required, over the 3 prompt pairs of faces$/);
    } finally {
      await enc.release();
    }
  });
});
