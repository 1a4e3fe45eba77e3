/**
 * The live page's onnxruntime-web, in a worker of its own: the text tower of a full-size CLIP runs
 * for about a minute on one wasm thread, and on the page's thread the page would not respond
 * meanwhile. runtime.ts is its only client; messages are { id, op: 'open' | 'run', … } and every
 * request gets one answer, { id, ok: true, … } or { id, ok: false, error }.
 */
import * as ort from 'onnxruntime-web/wasm';
// The same file the bundle references with new URL(…, import.meta.url), so Vite emits it once.
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';

ort.env.wasm.wasmPaths = { wasm: wasmUrl };
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.logLevel = 'error';

type Feed = { type: 'float32'; data: Float32Array; dims: number[] } | { type: 'int64'; data: BigInt64Array; dims: number[] };
export type WorkerRequest = { id: number; op: 'open'; name: string; bytes: Uint8Array } | { id: number; op: 'run'; session: number; feeds: Record<string, Feed> };

const sessions = new Map<number, { name: string; session: ort.InferenceSession }>();
let next = 0;

async function answer(req: WorkerRequest): Promise<{ reply: Record<string, unknown>; transfer: Transferable[] }> {
  if (req.op === 'open') {
    const session = await ort.InferenceSession.create(req.bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const id = next++;
    sessions.set(id, { name: req.name, session });
    return { reply: { session: id, inputNames: session.inputNames, outputNames: session.outputNames }, transfer: [] };
  }
  const s = sessions.get(req.session);
  if (!s) throw new Error(`no session ${req.session} in the live page's onnxruntime worker`);
  const tensors: Record<string, ort.Tensor> = {};
  for (const [name, f] of Object.entries(req.feeds)) tensors[name] = new ort.Tensor(f.type, f.data, f.dims);
  const out = await s.session.run(tensors);
  const outputs: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(out)) {
    if (t.type !== 'float32') throw new Error(`${s.name}: output ${name} is ${t.type}, expected float32`);
    outputs[name] = t.data as Float32Array;
  }
  return { reply: { outputs }, transfer: Object.values(outputs).map((a) => a.buffer as ArrayBuffer) };
}

self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  const req = event.data;
  answer(req).then(
    ({ reply, transfer }) => (self as unknown as Worker).postMessage({ id: req.id, ok: true, ...reply }, transfer),
    (err: unknown) => (self as unknown as Worker).postMessage({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
};
