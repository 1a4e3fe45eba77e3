/**
 * The FLOP/s onnxruntime reaches on this machine on one large, regular convolution: the
 * best case for its kernels, used as the peak against which the pipeline's FLOP/s is read.
 * The convolution has no padding effects worth counting and weights that fit in cache per
 * output tile, so it runs as close to the hardware's multiply-add rate as onnxruntime gets.
 */
import { type RuntimeOptions, type TimedModel, float32, openTimedModel } from '../../pipeline/models/runtime.ts';
import { GraphBuilder, attr } from '../../pipeline/onnx/graph.ts';
import { f32 } from '../../pipeline/onnx/params.ts';
import { convFlops } from './flops.ts';
import { type Spread, spread } from './stats.ts';

export interface ConvShape {
  batch: number;
  channelsIn: number;
  size: number;
  channelsOut: number;
  kernel: number;
}

export const PEAK_CONV: ConvShape = Object.freeze({ batch: 8, channelsIn: 256, size: 64, channelsOut: 256, kernel: 3 });

export interface PeakResult {
  shape: ConvShape;
  flops: number;
  /** FLOP/s of each timed repetition. */
  flopsPerSecond: Spread;
}

export function describeConv(s: ConvShape): string {
  return `Conv [${s.batch}, ${s.channelsIn}, ${s.size}, ${s.size}] ⊛ [${s.channelsOut}, ${s.channelsIn}, ${s.kernel}, ${s.kernel}], pad ${(s.kernel - 1) / 2}`;
}

/** One Conv node, x [N, Cin, H, W] → y [N, Cout, H, W], with fixed pseudo-random weights. */
function convModel(s: ConvShape): Uint8Array {
  const g = new GraphBuilder('bench_peak_conv');
  const x = g.input('x', 'float32', [s.batch, s.channelsIn, s.size, s.size]);
  const weights = new Float32Array(s.channelsOut * s.channelsIn * s.kernel * s.kernel);
  for (let i = 0; i < weights.length; i++) weights[i] = Math.sin(i * 12.9898) * 0.01;
  const w = g.initializer('w', f32([s.channelsOut, s.channelsIn, s.kernel, s.kernel], weights));
  const p = (s.kernel - 1) / 2;
  g.output(g.op('Conv', [x, w], { pads: attr.ints([p, p, p, p]) }), 'y', 'float32', [s.batch, s.channelsOut, s.size, s.size]);
  return g.toBytes();
}

export async function measurePeakConv(runtime: RuntimeOptions, runs: { warmup: number; timed: number }, shape: ConvShape = PEAK_CONV): Promise<PeakResult> {
  const peak = await openPeakConv(runtime, shape);
  try {
    for (let i = 0; i < runs.warmup; i++) await peak.time();
    const times: number[] = [];
    for (let i = 0; i < runs.timed; i++) times.push(await peak.time());
    return { shape, flops: peak.flops, flopsPerSecond: spread(times.map((t) => peak.flops / t)) };
  } finally {
    await peak.release();
  }
}

/**
 * The peak convolution open for single runs, so a measurement can time one right beside each of
 * its own runs: this machine's speed drifts by up to ~1.4× within minutes (the peak read 350 and
 * 463 GFLOP/s at the two ends of one bench), and a ratio of adjacent runs cancels most of it.
 */
export async function openPeakConv(runtime: RuntimeOptions, shape: ConvShape = PEAK_CONV): Promise<PeakConv> {
  const input = new Float32Array(shape.batch * shape.channelsIn * shape.size * shape.size);
  for (let i = 0; i < input.length; i++) input[i] = Math.cos(i * 0.37);
  const feeds = { x: float32(input, [shape.batch, shape.channelsIn, shape.size, shape.size]) };
  const session = await openTimedModel(convModel(shape), feeds, runtime);
  const flops = convFlops(shape.batch, shape.channelsIn, shape.size, shape.size, shape.channelsOut, shape.kernel);
  return {
    flops,
    time: () => session.time(),
    async rate() {
      const rates: number[] = [];
      for (let i = 0; i < PAIRED_PEAK_RUNS; i++) rates.push(flops / (await session.time()));
      return spread(rates).median;
    },
    release: () => session.release(),
  };
}

export interface PeakConv extends TimedModel {
  flops: number;
  /** FLOP/s now: the median of PAIRED_PEAK_RUNS runs in a row (one run alone swung by ~±15 %). */
  rate(): Promise<number>;
}

const PAIRED_PEAK_RUNS = 3;
