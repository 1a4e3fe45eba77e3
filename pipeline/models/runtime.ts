/**
 * The one adapter over onnxruntime-node. Nothing else in the pipeline imports it.
 * Tensors cross this boundary as plain { data, dims } so stages stay runtime-agnostic.
 *
 * Size budget: the adapter is one module by design (STYLE: one module touches the runtime):
 * device table, sessions in this thread and in a worker, and the benchmark's bare timing loop.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import './ort-privacy.mjs'; // before onnxruntime-node: telemetry off unless the user asks (README, "Privacy")
import * as ort from 'onnxruntime-node';
import { StyleAtlasError, fail } from '../core/errors.ts';
import { assertFinite } from '../core/finite.ts';
import { type Device, EXECUTION_PROVIDERS, type ExecutionRecord, assertDeviceHere, deviceOpenFailure, executionRecord } from './devices.ts';
import { NCHWC_BLOCK_SIZES, nchwcProbe } from '../onnx/nchwc.ts';

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

function checkOutputs(label: string, out: Record<string, TensorValue>): Record<string, TensorValue> {
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
 * Seconds of each timed run of `model`, measured around onnxruntime's own run() with no output
 * checks or copies: benchmarks use it for the FLOP/s the runtime reaches on a single operator.
 */
export async function timeModelRuns(
  model: Uint8Array,
  feeds: Record<string, TensorValue>,
  runs: { warmup: number; timed: number },
  opts: RuntimeOptions = {},
): Promise<number[]> {
  const session = await bareSession(model, 'benchmark model', opts);
  try {
    const ortFeeds = ortTensors(feeds);
    for (let i = 0; i < runs.warmup; i++) await session.run(ortFeeds);
    const times: number[] = [];
    for (let i = 0; i < runs.timed; i++) {
      const t0 = performance.now();
      await session.run(ortFeeds);
      times.push((performance.now() - t0) / 1000);
    }
    return times;
  } finally {
    await session.release();
  }
}

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
): Promise<ProfileEvent[]> {
  const dir = mkdtempSync(join(tmpdir(), 'styleatlas-profile-'));
  try {
    const session = await bareSession(model, 'profiled model', opts, { enableProfiling: true, profileFilePrefix: join(dir, 'ort') });
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

/**
 * A session in a worker thread: run() resolves without blocking the main thread, so batches can
 * be prepared and results folded in while onnxruntime computes. Requests run in order. A worker
 * that fails or stops (a crash, a kill, out of memory) rejects every pending and later run with
 * E_RUNTIME; nothing waits for it forever. Feeds are copied to the worker (structured clone), never
 * transferred, so the caller's buffers are not detached; the copy is small next to a render.
 */
/**
 * One model of a WorkerSession set. `noSpin`: its onnxruntime threads sleep as soon as its run
 * ends instead of spin-waiting for the next one (session.intra_op.allow_spinning = 0) — for a
 * model whose runs are rare beside another's (prefix reuse's prefix), so its idle threads take no
 * core from the next run. Its effect was not measurable here apart from this VM's drift.
 */
export interface SetModelOptions {
  noSpin?: boolean;
  /**
   * false: onnxruntime plans no memory pattern for the model (enableMemPattern), so each run takes
   * its tensors from the arena one by one as they are needed and frees them as they die, instead
   * of one block laid out for the whole run — measured: the blocked-layout suffix at FFHQ-1024,
   * batch 2, peaked ~1.1 GiB lower this way at about the same speed (docs/benchmarks.md).
   */
  memPattern?: false;
}

/** The model WorkerSession.open runs. */
const MAIN = 'main';

export class WorkerSession implements InferenceRunner {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (v: Record<string, TensorValue>) => void; reject: (e: unknown) => void }>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Why the worker can take no more runs, once it has stopped or failed. */
  private stopped: StyleAtlasError | undefined;
  private released = false;

  private constructor(
    private readonly worker: Worker,
    readonly label: string,
    readonly device: Device,
    private readonly models: Readonly<Record<string, { inputs: ValueInfo[]; outputs: ValueInfo[] }>>,
  ) {
    worker.on('message', (msg: { type: string; id: number; outputs?: Record<string, TensorValue>; error?: string }) => {
      if (msg.type !== 'result') return;
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.error) w.reject(new StyleAtlasError('E_RUNTIME', `${this.label}: ${msg.error}`));
      else {
        try {
          w.resolve(checkOutputs(this.label, msg.outputs!));
        } catch (e) {
          w.reject(e);
        }
      }
    });
    worker.on('error', (e) => this.stop(new StyleAtlasError('E_RUNTIME', `${this.label}: the onnxruntime worker failed: ${e.message}`)));
    worker.on('exit', (code) => {
      const pending = this.waiting.size;
      this.stop(new StyleAtlasError('E_RUNTIME', `${this.label}: the onnxruntime worker stopped (exit code ${code})${pending ? ` with ${pending} run${pending > 1 ? 's' : ''} pending` : ''}`));
    });
  }

  private stop(why: StyleAtlasError): void {
    this.stopped ??= this.released ? new StyleAtlasError('E_RUNTIME', `${this.label}: the session was released`) : why;
    for (const w of this.waiting.values()) w.reject(this.stopped);
    this.waiting.clear();
  }

  /**
   * `model` is a file path or the model's bytes. Bytes move into the worker (their buffer is
   * transferred, not copied, and is detached here afterwards), so a model built in memory never
   * needs a temporary file.
   */
  static open(model: string | Uint8Array, label: string, opts: RuntimeOptions = {}): Promise<WorkerSession> {
    return WorkerSession.openSet({ [MAIN]: model }, label, opts);
  }

  /**
   * Several models in one worker, each its own onnxruntime session; runs of all of them share
   * one queue (in order, one at a time), so they never compete for the cores. `run` runs the
   * model named MAIN; `runner(name)` gives the others.
   */
  static async openSet(models: Record<string, string | Uint8Array>, label: string, opts: RuntimeOptions = {}, each: Record<string, SetModelOptions> = {}): Promise<WorkerSession> {
    const device = opts.device ?? 'cpu';
    assertDeviceHere(label, device);
    // A view into a larger (possibly pooled) buffer is copied first: only whole buffers move.
    // Uint8Array's slice copies; a Node Buffer's own slice would be another view of the pool.
    const whole = (m: string | Uint8Array) => (typeof m === 'string' || (m.byteOffset === 0 && m.byteLength === m.buffer.byteLength) ? m : Uint8Array.prototype.slice.call(m));
    const moved = Object.fromEntries(Object.entries(models).map(([k, m]) => [k, whole(m)]));
    const transferList = Object.values(moved).flatMap((b) => (typeof b === 'string' ? [] : [b.buffer as ArrayBuffer]));
    const sessionEntries = Object.fromEntries(Object.entries(each).filter(([, o]) => o.noSpin).map(([k]) => [k, { 'intra_op.allow_spinning': '0' }]));
    const modelOptions = Object.fromEntries(Object.entries(each).filter(([, o]) => o.memPattern === false).map(([k]) => [k, { enableMemPattern: false }]));
    const worker = new Worker(new URL('./runtime-worker.mjs', import.meta.url), { workerData: { models: moved, options: sessionOptions(opts), sessionEntries, modelOptions }, transferList });
    type Ready = { type: string; message?: string; models?: Record<string, { inputs: ValueInfo[]; outputs: ValueInfo[] }> };
    const ready = await new Promise<Ready>((resolve) => {
      worker.once('message', resolve);
      worker.once('error', (e) => resolve({ type: 'error', message: e.message }));
      worker.once('exit', (code) => resolve({ type: 'error', message: `the worker stopped (exit code ${code}) before the model was loaded` }));
    });
    if (ready.type !== 'ready') {
      await worker.terminate();
      deviceOpenFailure(label, device, ready.message ?? 'unknown error');
    }
    return new WorkerSession(worker, label, device, ready.models!);
  }

  get inputs(): readonly ValueInfo[] {
    return this.models[MAIN]?.inputs ?? [];
  }

  get outputs(): readonly ValueInfo[] {
    return this.models[MAIN]?.outputs ?? [];
  }

  run(feeds: Record<string, TensorValue>, outputNames?: readonly string[]): Promise<Record<string, TensorValue>> {
    return this.runModel(MAIN, feeds, outputNames);
  }

  /** The model `name` of the set, as a runner (releasing it releases nothing: release the set). */
  runner(name: string): InferenceRunner {
    const m = this.models[name];
    if (!m) throw new Error(`${this.label}: no model "${name}" in this worker (it has ${Object.keys(this.models).join(', ')})`);
    return {
      label: `${this.label} ${name}`,
      device: this.device,
      inputs: m.inputs,
      outputs: m.outputs,
      run: (feeds, outputNames) => this.runModel(name, feeds, outputNames),
      release: async () => {},
    };
  }

  private runModel(model: string, feeds: Record<string, TensorValue>, outputNames?: readonly string[]): Promise<Record<string, TensorValue>> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    const run = new Promise<Record<string, TensorValue>>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'run', id, model, feeds, outputNames });
    });
    const settled = run.then(() => {}, () => {});
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    return run;
  }

  /**
   * Stop the worker once its runs have settled: a worker thread stopped while onnxruntime-node
   * computes in it takes the whole process down (measured with onnxruntime-node 1.30 on Node 24:
   * "terminate called after throwing an instance of 'Napi::Error'"; the native run completes into
   * a torn-down environment, cf. microsoft/onnxruntime#28646 on how Run() is dispatched).
   */
  async release(): Promise<void> {
    this.released = true;
    await Promise.allSettled(this.inFlight);
    await this.worker.terminate();
  }
}
