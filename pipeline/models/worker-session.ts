/**
 * Part of the onnxruntime adapter (runtime.ts, which re-exports it): sessions in a worker thread
 * (runtime-worker.mjs), one model or a set of models sharing one run queue.
 */
import { Worker } from 'node:worker_threads';
import { StyleAtlasError } from '../core/errors.ts';
import { type Device, assertDeviceHere, deviceOpenFailure } from './devices.ts';
import { type InferenceRunner, type RuntimeOptions, type TensorValue, type ValueInfo, checkOutputs, sessionOptions } from './runtime.ts';

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

/**
 * A session in a worker thread: run() resolves without blocking the main thread, so batches can
 * be prepared and results folded in while onnxruntime computes. Requests run in order. A worker
 * that fails or stops (a crash, a kill, out of memory) rejects every pending and later run with
 * E_RUNTIME; nothing waits for it forever. Feeds are copied to the worker (structured clone), never
 * transferred, so the caller's buffers are not detached; the copy is small next to a render.
 */
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
