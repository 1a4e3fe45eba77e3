/**
 * The default's synthesis split by what each pass does: the NCHWc writer names its nodes
 * `<module>#<role>[_detail]` (NCHWC_PASS_ROLES), onnxruntime's profiler reports each kernel under
 * its node's name, and every kernel of the last profiled runs falls into one role or "the rest".
 * For each role: kernel ms per render, the FLOPs its convolutions do (from the shapes the profiler
 * records: 2·|output|·I/g·kh·kw), the bytes its kernels read and write (inputs + outputs), and a
 * roofline time: per kernel the larger of FLOPs at the run's one-conv peak and bytes at the
 * machine's DRAM stream rate (measured here as kernel time of one large Add). Kernels whose tensors
 * fit in cache move their bytes faster than DRAM, so the roofline is an estimate, not a bound.
 */
import { type ProfileEvent, type RuntimeOptions, float32, lastRunKernels, profileModelRuns } from '../../pipeline/models/runtime.ts';
import { fail } from '../../pipeline/core/errors.ts';
import { GraphBuilder } from '../../pipeline/onnx/graph.ts';
import { NCHWC_PASS_ROLES, type NchwcPassRole, nchwcPassRole } from '../../pipeline/onnx/stylegan2/nchwc-synthesis.ts';
import { type Spread, spread } from './stats.ts';

export type PassRole = NchwcPassRole | 'rest';

export interface RoleTime {
  role: PassRole;
  /** Kernel time per render, ms. */
  ms: number;
  /** Distinct nodes of this role that ran. */
  nodes: number;
  /** Convolution FLOPs per render (0 for kernels of other op types). */
  flops: number;
  /** Bytes read and written per render (view-only ops — Reshape and the like — count none). */
  bytes: number;
  /** Each node's FLOPs and bytes per render (what the roofline reads). */
  work: { flops: number; bytes: number }[];
}

const ELEMENT_BYTES: Readonly<Record<string, number>> = { float: 4, int32: 4, int64: 8, double: 8, float16: 2, uint8: 1, int8: 1, bool: 1 };
/** Ops onnxruntime may run as a view of their input: their bytes are not counted. */
const VIEW_OPS = new Set(['Reshape', 'Squeeze', 'Unsqueeze', 'Flatten', 'Identity']);
const CONV_OPS = new Set(['Conv', 'FusedConv']);

/** The profiler's `input_type_shape` / `output_type_shape`: one {type: dims} per tensor ({} for an absent optional input). */
function shapes(v: unknown, node: string): { type: string; dims: number[] }[] {
  if (!Array.isArray(v)) fail('E_RUNTIME', `profile: kernel ${node} has no tensor shapes (onnxruntime wrote ${JSON.stringify(v)})`);
  return v.flatMap((t: Record<string, number[]>) => Object.entries(t).map(([type, dims]) => ({ type, dims })));
}

const count = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

function tensorBytes(ts: readonly { type: string; dims: number[] }[], node: string): number {
  return ts.reduce((sum, t) => {
    const size = ELEMENT_BYTES[t.type];
    if (size === undefined) fail('E_RUNTIME', `profile: kernel ${node} has a tensor of type ${t.type}, which the bench cannot size`);
    return sum + size * count(t.dims);
  }, 0);
}

/** One kernel's FLOPs and bytes from its recorded shapes. */
export function kernelWork(e: ProfileEvent): { flops: number; bytes: number } {
  const op = String(e.args?.op_name ?? '');
  const inputs = shapes(e.args?.input_type_shape, e.name);
  const outputs = shapes(e.args?.output_type_shape, e.name);
  const bytes = VIEW_OPS.has(op) ? 0 : tensorBytes(inputs, e.name) + tensorBytes(outputs, e.name);
  if (!CONV_OPS.has(op)) return { flops: 0, bytes };
  const w = inputs[1]?.dims;
  if (!w || w.length !== 4 || outputs.length !== 1) fail('E_RUNTIME', `profile: convolution ${e.name} has shapes the bench does not read (${JSON.stringify(e.args?.input_type_shape)})`);
  return { flops: 2 * count(outputs[0].dims) * w[1] * w[2] * w[3], bytes };
}

/** Kernel time, FLOPs and bytes by pass role in the last `runs` runs of a trace, per render, in NCHWC_PASS_ROLES order then the rest. */
export function roleSplit(events: readonly ProfileEvent[], runs: number, renders: number): RoleTime[] {
  const { kernels } = lastRunKernels(events, runs);
  const per = runs * renders;
  const order: PassRole[] = [...(Object.keys(NCHWC_PASS_ROLES) as NchwcPassRole[]), 'rest'];
  const acc = new Map(order.map((r) => [r, { us: 0, nodes: new Map<string, { flops: number; bytes: number }>() }]));
  for (const e of kernels) {
    const node = e.name.slice(0, -'_kernel_time'.length);
    const a = acc.get(nchwcPassRole(node) ?? 'rest')!;
    const work = kernelWork(e);
    const n = a.nodes.get(node) ?? { flops: 0, bytes: 0 };
    a.us += e.dur;
    a.nodes.set(node, { flops: n.flops + work.flops / per, bytes: n.bytes + work.bytes / per });
  }
  return order.map((role) => {
    const { us, nodes } = acc.get(role)!;
    const work = [...nodes.values()];
    return { role, ms: us / 1000 / per, nodes: nodes.size, flops: sum(work, 'flops'), bytes: sum(work, 'bytes'), work };
  });
}

const sum = (ws: readonly { flops: number; bytes: number }[], k: 'flops' | 'bytes') => ws.reduce((t, w) => t + w[k], 0);

/** A role's roofline per render, s: each node's larger of FLOPs / peak and bytes / stream, summed. */
export function rooflineSeconds(r: RoleTime, peak: number, stream: number): number {
  return r.work.reduce((t, w) => t + Math.max(w.flops / peak, w.bytes / stream), 0);
}

/** Floats in each operand of the stream measurement: 128 MiB a tensor, far past any cache here. */
export const STREAM_FLOATS = 32 * 2 ** 20;
const STREAM_RUNS = { warmup: 2, profiled: 5 };

/**
 * Bytes/s of onnxruntime's Add over two STREAM_FLOATS tensors into a third (2 read + 1 written),
 * as profiler kernel time — the basis the role split's times are on.
 */
export async function measureStream(runtime: RuntimeOptions): Promise<Spread> {
  const g = new GraphBuilder('bench_stream');
  const dims = [STREAM_FLOATS];
  g.output(g.op('Add', [g.input('a', 'float32', dims), g.input('b', 'float32', dims)]), 'y', 'float32', dims);
  const a = new Float32Array(STREAM_FLOATS).fill(1);
  const events = await profileModelRuns(g.toBytes(), { a: float32(a, dims), b: float32(a, dims) }, { warmup: STREAM_RUNS.warmup, profiled: STREAM_RUNS.profiled }, runtime);
  const kernels = lastRunKernels(events, STREAM_RUNS.profiled).kernels;
  if (kernels.length !== STREAM_RUNS.profiled) fail('E_RUNTIME', `stream: the profile holds ${kernels.length} Add kernels in its last ${STREAM_RUNS.profiled} runs`);
  return spread(kernels.map((e) => (3 * 4 * STREAM_FLOATS) / (e.dur / 1e6)));
}

const f = (v: number, d = 1): string => v.toFixed(d);
const ms = (v: number): string => v.toFixed(v >= 10 ? 1 : v >= 1 ? 2 : 3);

/**
 * The report's lines for a role split: per role its kernel time, share, FLOP/s against the run's
 * peak, bytes and GB/s against the stream rate, and roofline; then the synthesis's share of the
 * peak if every kernel ran at its roofline (what the graph's passes allow on this machine).
 */
export function rolesSection(roles: readonly RoleTime[], stream: Spread, peak: number, synthesisFlops: number, batch: number): string[] {
  const total = roles.reduce((t, r) => t + r.ms, 0);
  const roof = roles.map((r) => rooflineSeconds(r, peak, stream.median));
  const roofTotal = roof.reduce((a, b) => a + b, 0);
  const lines = [
    `    the default's synthesis by pass role (onnxruntime profiler on the model timed above, batch ${batch}; FLOPs and bytes of the shapes it records, padded lanes of the channel blocks included; roofline: each kernel's larger of FLOPs at the run's one-conv peak ${f(peak / 1e9, 0)} GFLOP/s and bytes at the stream rate ${f(stream.median / 1e9)} GB/s [${f(stream.min / 1e9)}–${f(stream.max / 1e9)}], one 128 MiB Add):`,
    `      ${'role'.padEnd(11)} ${'nodes'.padStart(5)} ${'ms/render'.padStart(9)} ${'share'.padStart(6)} ${'GFLOP'.padStart(7)} ${'% peak'.padStart(7)} ${'MB moved'.padStart(9)} ${'GB/s'.padStart(6)} ${'roofline ms'.padStart(11)}  what`,
  ];
  roles.forEach((r, i) => {
    const sec = r.ms / 1000;
    const ofPeak = r.flops > 0 ? `${f((100 * r.flops) / sec / peak, 0)}%` : '—';
    const what = r.role === 'rest' ? 'every other kernel (style affines, Mul, Add, reorders)' : NCHWC_PASS_ROLES[r.role];
    lines.push(
      `      ${r.role.padEnd(11)} ${String(r.nodes).padStart(5)} ${ms(r.ms).padStart(9)} ${`${f((100 * r.ms) / total)}%`.padStart(6)} ${f(r.flops / 1e9, 2).padStart(7)} ${ofPeak.padStart(7)} ${f(r.bytes / 1e6, 0).padStart(9)} ${f(r.bytes / sec / 1e9).padStart(6)} ${ms(1000 * roof[i]).padStart(11)}  ${what}`,
    );
  });
  const convShare = roles.find((r) => r.role === 'conv')!.ms / total;
  lines.push(
    `      ${'all kernels'.padEnd(17)} ${ms(total).padStart(9)} ${''.padStart(6)} ${f(roles.reduce((t, r) => t + r.flops, 0) / 1e9, 2).padStart(7)} ${''.padStart(7)} ${f(roles.reduce((t, r) => t + r.bytes, 0) / 1e6, 0).padStart(9)} ${''.padStart(6)} ${ms(1000 * roofTotal).padStart(11)}`,
    `      the modulated convolutions take ${f(100 * convShare, 0)}% of the kernel time; at every kernel's roofline the synthesis (${f(synthesisFlops / 1e9, 1)} GFLOP/render) would run at ${f((100 * synthesisFlops) / roofTotal / peak, 0)}% of the peak (its kernels now: ${f((100 * synthesisFlops) / (total / 1000) / peak, 0)}%)`,
  );
  return lines;
}
