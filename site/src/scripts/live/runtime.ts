/**
 * The browser's one adapter over ONNX Runtime (onnxruntime-web, wasm): nothing else on the site
 * imports it. Single-threaded wasm served by this site (Vite emits the file into _astro/ and
 * wasmPaths points there), so the page needs no cross-origin isolation and fetches nothing from
 * elsewhere.
 */
import * as ort from 'onnxruntime-web/wasm';
// The same file the bundle references with new URL(…, import.meta.url), so Vite emits it once.
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';

let configured = false;

function configure(): void {
  if (configured) return;
  ort.env.wasm.wasmPaths = { wasm: wasmUrl };
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
  configured = true;
}

export interface BrowserSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, { type: 'float32'; data: Float32Array; dims: readonly number[] } | { type: 'int64'; data: BigInt64Array; dims: readonly number[] }>): Promise<Record<string, Float32Array>>;
}

/** Open a model from a URL on this site, or from bytes already here (`modelUrl` then only names it). */
export async function openSession(modelUrl: string, bytes?: Uint8Array): Promise<BrowserSession> {
  configure();
  if (!bytes) {
    const res = await fetch(modelUrl);
    if (!res.ok) throw new Error(`${modelUrl}: HTTP ${res.status}`);
    bytes = new Uint8Array(await res.arrayBuffer());
  }
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds) {
      const tensors: Record<string, ort.Tensor> = {};
      for (const [name, f] of Object.entries(feeds)) tensors[name] = f.type === 'int64' ? new ort.Tensor('int64', f.data, [...f.dims]) : new ort.Tensor('float32', f.data, [...f.dims]);
      const out = await session.run(tensors);
      const result: Record<string, Float32Array> = {};
      for (const [name, t] of Object.entries(out)) {
        if (t.type !== 'float32') throw new Error(`${modelUrl}: output ${name} is ${t.type}, expected float32`);
        result[name] = t.data as Float32Array;
      }
      return result;
    },
  };
}
