/**
 * The one adapter over onnxruntime-node. Nothing else in the pipeline imports it (its worker-thread
 * sessions live in worker-session.ts and runtime-worker.mjs, re-exported here).
 * Tensors cross this boundary as plain { data, dims } so stages stay runtime-agnostic.
 *
 * Size budget: the adapter is one module by design (STYLE: one module touches the runtime):
 * session options, sessions in this thread, the NCHWc probe, and the benchmark's bare timing and
 * profiling loops (worker-session.ts holds the worker side, which never imports onnxruntime-node).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import './ort-privacy.mjs'; // before onnxruntime-node: telemetry off unless the user asks (README, "Privacy")
import * as ort from 'onnxruntime-node';
import { StyleAtlasError, fail } from '../core/errors.ts';
import { assertFinite } from '../core/finite.ts';
import { type Device, EXECUTION_PROVIDERS, type ExecutionRecord, assertDeviceHere, deviceOpenFailure, executionRecord } from './devices.ts';
import { NCHWC_BLOCK_SIZES, nchwcProbe } from '../onnx/nchwc.ts';
import type { SetModelOptions } from './worker-session.ts';

export type { Device } from './devices.ts';

/** The onnxruntime-node version in use (benchmarks and provenance report it). */
export function runtimeVersion(): string {
  return ort.env.versions.node ?? ort.env.versions.common;
}

export interface RuntimeOptions {
  device?: Device;
  /** Threads inside one operator (0 = onnxruntime's default: all cores). */
  threads?: number;
}

export type TensorValue =
  | { type: 'float32'; data: Float32Array; dims: readonly number[] }
  | { type: 'float64'; data: Float64Array; dims: readonly number[] }
  | { type: 'int64'; data: BigInt64Array; dims: readonly number[] };

export function float32(data: Float32Array, dims: readonly number[]): TensorValue {
  return { type: 'float32', data, dims };
}

/** Double precision: the gradient checks run rules in float64 where onnxruntime has the kernels. */
export function float64(data: Float64Array, dims: readonly number[]): TensorValue {
  return { type: 'float64', data, dims };
}

export function int64(data: BigInt64Array, dims: readonly number[]): TensorValue {
  return { type: 'int64', data, dims };
}

export interface ValueInfo {
  name: string;
  type: string;
  /** Fixed sizes as numbers, symbolic ones as their names. */
  shape: readonly (number | string)[];
}

/** Where sessions opened with these options run (for build.sqlite and the logs). */
export function runtimeExecution(opts: RuntimeOptions): ExecutionRecord {
  return executionRecord(opts.device ?? 'cpu', opts.threads ?? 0, runtimeVersion());
}

/** What stages need from a session, wherever it runs. */
export interface InferenceRunner {
  readonly label: string;
  /** The execution provider every node of the session runs on. */
  readonly device: Device;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /**
   * Run and return the requested outputs (all by default); NaN/Inf in a float output is E_NUMERIC.
   * The feeds are only read: the caller's arrays stay as they were and may be reused.
   */
  run(feeds: Record<string, TensorValue>, outputNames?: readonly string[]): Promise<Record<string, TensorValue>>;
  release(): Promise<void>;
}

/**
 * A session runs on its device's provider alone. onnxruntime appends its CPU provider for nodes
 * another provider cannot run; for a GPU device that fallback is switched off, so a session
 * either runs every node on the GPU or fails to open (E_DEVICE) — never partly on the CPU.
 */
export function sessionOptions(opts: RuntimeOptions): ort.InferenceSession.SessionOptions {
  const device = opts.device ?? 'cpu';
  return {
    executionProviders: [EXECUTION_PROVIDERS[device]],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: opts.threads ?? 0,
    interOpNumThreads: 1,
    ...(device === 'cpu' ? {} : { extra: { session: { disable_cpu_ep_fallback: '1' } } }),
  };
}

export function checkOutputs(label: string, out: Record<string, TensorValue>): Record<string, TensorValue> {
  for (const [name, t] of Object.entries(out)) if (t.type === 'float32' || t.type === 'float64') assertFinite(t.data, `${label} output ${name}`);
  return out;
}

export class ModelSession implements InferenceRunner {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly label: string,
    readonly device: Device,
    readonly inputs: readonly ValueInfo[],
    readonly outputs: readonly ValueInfo[],
  ) {}

  static async open(model: string | Uint8Array, label: string, opts: RuntimeOptions = {}): Promise<ModelSession> {
    const device = opts.device ?? 'cpu';
    assertDeviceHere(label, device);
    const options = sessionOptions(opts);
    let session: ort.InferenceSession;
    try {
      session = typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
    } catch (e) {
      deviceOpenFailure(label, device, (e as Error).message);
    }
    const info = (m: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] =>
      m.map((v) => ({ name: v.name, type: v.isTensor ? v.type : 'non-tensor', shape: v.isTensor ? [...v.shape] : [] }));
    return new ModelSession(session, label, device, info(session.inputMetadata), info(session.outputMetadata));
  }

  /** Run and return the requested outputs (all by default). NaN/Inf in an output is E_NUMERIC. */
  async run(feeds: Record<string, TensorValue>, outputNames?: readonly string[]): Promise<Record<string, TensorValue>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = new ort.Tensor(t.type, t.data, [...t.dims]);
    let results: ort.InferenceSession.ReturnType;
    try {
      results = outputNames ? await this.session.run(ortFeeds, [...outputNames]) : await this.session.run(ortFeeds);
    } catch (e) {
      fail('E_RUNTIME', `${this.label}: ${(e as Error).message}`);
    }
    const out: Record<string, TensorValue> = {};
    for (const [name, t] of Object.entries(results)) {
      if (t.type === 'float32') {
        const data = t.data as Float32Array;
        assertFinite(data, `${this.label} output ${name}`);
        out[name] = float32(data, t.dims);
      } else if (t.type === 'float64') {
        const data = t.data as Float64Array;
        assertFinite(data, `${this.label} output ${name}`);
        out[name] = float64(data, t.dims);
      } else if (t.type === 'int64') {
        out[name] = int64(t.data as BigInt64Array, t.dims);
      } else {
        fail('E_RUNTIME', `${this.label}: output ${name} has unsupported type ${t.type}`);
      }
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

let nchwcBlock: Promise<number | undefined> | undefined;

/**
 * The block size of onnxruntime's blocked NCHWc CPU kernels on this machine, or undefined when
 * this build of onnxruntime has none for this CPU: runs a one-convolution probe per candidate
 * size (../onnx/nchwc.ts) and keeps the one whose result is right. Once per process.
 */
export function nchwcBlockSize(): Promise<number | undefined> {
  nchwcBlock ??= (async () => {
    for (const b of NCHWC_BLOCK_SIZES) {
      const probe = nchwcProbe(b);
      let session: ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(probe.model, { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
      } catch {
        return undefined; // no NCHWc kernels registered
      }
      try {
        const y = (await session.run({ x: new ort.Tensor('float32', probe.x, [1, 16, 1, 2]) })).y.data as Float32Array;
        if (y.every((v, i) => Math.abs(v - probe.expected[i]) <= 1e-5)) return b;
      } catch {
        // a block size the kernels reject: try the next
      } finally {
        await session.release();
      }
    }
    return undefined;
  })();
  return nchwcBlock;
}

/** A session for the bench's bare loops (no output checks): `extra` session options on top of sessionOptions'. */
async function bareSession(model: Uint8Array, label: string, opts: RuntimeOptions, extra: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  const device = opts.device ?? 'cpu';
  assertDeviceHere(label, device);
  try {
    return await ort.InferenceSession.create(model, { ...sessionOptions(opts), ...extra });
  } catch (e) {
    deviceOpenFailure(label, device, (e as Error).message);
  }
}

function ortTensors(feeds: Record<string, TensorValue>): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(feeds)) out[name] = new ort.Tensor(t.type, t.data, [...t.dims]);
  return out;
}

/**
 * A model open with fixed feeds, for benchmarks: each time() is one run measured around
 * onnxruntime's own run(), outputs discarded, no checks or copies — the FLOP/s the runtime
 * reaches, with two models' runs alternated where a ratio must cancel the machine's drift.
 * `each` takes the per-model options of a WorkerSession set (memPattern), to time a model as a
 * build opens it.
 */
export interface TimedModel {
  /** Seconds of one run(), outputs discarded. */
  time(): Promise<number>;
  release(): Promise<void>;
}

export async function openTimedModel(model: Uint8Array, feeds: Record<string, TensorValue>, opts: RuntimeOptions = {}, each: Pick<SetModelOptions, 'memPattern'> = {}): Promise<TimedModel> {
  const session = await bareSession(model, 'benchmark model', opts, memPatternOption(each));
  const ortFeeds = ortTensors(feeds);
  return {
    async time() {
      const t0 = performance.now();
      await session.run(ortFeeds);
      return (performance.now() - t0) / 1000;
    },
    release: () => session.release(),
  };
}

/** onnxruntime's session option for `memPattern: false` (its default is on). */
const memPatternOption = (each: Pick<SetModelOptions, 'memPattern'>): ort.InferenceSession.SessionOptions => (each.memPattern === false ? { enableMemPattern: false } : {});

/** One event of onnxruntime's profiler trace (Chrome trace format): a node's kernel run, a whole run… */
export interface ProfileEvent {
  cat: string;
  name: string;
  /** Start and duration, µs. */
  ts: number;
  dur: number;
  args?: Record<string, unknown>;
}

/**
 * onnxruntime's profiler trace of `runs.warmup + runs.profiled` runs of `model` in a session of
 * its own (profiling slows every kernel a little: it never shares a session that is timed).
 * Returns every event; the last `runs.profiled` runs are the ones to read (cat "Session",
 * name "model_run" brackets each run).
 */
export async function profileModelRuns(
  model: Uint8Array,
  feeds: Record<string, TensorValue>,
  runs: { warmup: number; profiled: number },
  opts: RuntimeOptions = {},
  each: Pick<SetModelOptions, 'memPattern'> = {},
): Promise<ProfileEvent[]> {
  const dir = mkdtempSync(join(tmpdir(), 'styleatlas-profile-'));
  try {
    const session = await bareSession(model, 'profiled model', opts, { enableProfiling: true, profileFilePrefix: join(dir, 'ort'), ...memPatternOption(each) });
    try {
      const ortFeeds = ortTensors(feeds);
      for (let i = 0; i < runs.warmup + runs.profiled; i++) await session.run(ortFeeds);
      session.endProfiling();
    } finally {
      await session.release();
    }
    const traces = readdirSync(dir).filter((f) => f.endsWith('.json'));
    if (traces.length !== 1) fail('E_RUNTIME', `profiled model: onnxruntime wrote ${traces.length} profile files, expected one`);
    return JSON.parse(readFileSync(join(dir, traces[0]), 'utf8')) as ProfileEvent[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The kernel events (cat Node, `<node>_kernel_time`) inside the last `runs` model runs of a trace, and those runs. */
export function lastRunKernels(events: readonly ProfileEvent[], runs: number): { runs: ProfileEvent[]; kernels: ProfileEvent[] } {
  const modelRuns = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const last = modelRuns.slice(-runs);
  if (last.length < runs) fail('E_RUNTIME', `profile: the trace holds ${modelRuns.length} runs, expected at least ${runs}`);
  const inLast = (e: ProfileEvent) => last.some((r) => e.ts >= r.ts && e.ts + e.dur <= r.ts + r.dur);
  return { runs: last, kernels: events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && inLast(e)) };
}

export { type SetModelOptions, WorkerSession } from './worker-session.ts';
