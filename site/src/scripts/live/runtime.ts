/**
 * The browser's one adapter over ONNX Runtime (onnxruntime-web, wasm): nothing else on the site
 * talks to it. The sessions live in a module worker (ort-worker.ts), so a long run — a full-size
 * text tower takes about a minute — leaves the page responsive. Single-threaded wasm served by this
 * site (Vite emits the worker and the .wasm into _astro/), so the page needs no cross-origin
 * isolation and fetches nothing from elsewhere. A worker that cannot start fails every request with
 * that reason; nothing falls back to the page's own thread.
 */
import type { WorkerRequest } from './ort-worker.ts';

type Feed = { type: 'float32'; data: Float32Array; dims: readonly number[] } | { type: 'int64'; data: BigInt64Array; dims: readonly number[] };
type Reply = { id: number; ok: true; session?: number; inputNames?: string[]; outputNames?: string[]; outputs?: Record<string, Float32Array> } | { id: number; ok: false; error: string };

let worker: Worker | undefined;
let broken: string | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (r: Reply & { ok: true }) => void; reject: (e: Error) => void }>();

function failAll(reason: string): void {
  broken = reason;
  for (const p of pending.values()) p.reject(new Error(reason));
  pending.clear();
}

function request(req: Omit<WorkerRequest, 'id'> & Record<string, unknown>, transfer: Transferable[] = []): Promise<Reply & { ok: true }> {
  if (broken) return Promise.reject(new Error(broken));
  if (!worker) {
    worker = new Worker(new URL('./ort-worker.ts', import.meta.url), { type: 'module', name: 'styleatlas-onnxruntime' });
    worker.onmessage = (event: MessageEvent<Reply>) => {
      const r = event.data;
      const p = pending.get(r.id);
      if (!p) return;
      pending.delete(r.id);
      if (r.ok) p.resolve(r);
      else p.reject(new Error(r.error));
    };
    worker.onerror = (event) => failAll(`the live page's onnxruntime worker failed: ${event.message || 'it could not be loaded'}`);
    worker.onmessageerror = () => failAll("the live page's onnxruntime worker sent a message that could not be read");
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker!.postMessage({ ...req, id }, transfer);
  });
}

export interface BrowserSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, Feed>): Promise<Record<string, Float32Array>>;
}

/** Open a model from a URL on this site, or from bytes already here (`modelUrl` then only names it). */
export async function openSession(modelUrl: string, bytes?: Uint8Array): Promise<BrowserSession> {
  if (!bytes) {
    const res = await fetch(modelUrl);
    if (!res.ok) throw new Error(`${modelUrl}: HTTP ${res.status}`);
    bytes = new Uint8Array(await res.arrayBuffer());
  }
  // A copy goes to the worker: the caller's bytes (a cached download) stay usable here.
  const copy = bytes.slice();
  const opened = await request({ op: 'open', name: modelUrl, bytes: copy }, [copy.buffer]);
  const session = opened.session!;
  return {
    inputNames: opened.inputNames!,
    outputNames: opened.outputNames!,
    async run(feeds) {
      // Structured clone copies the feeds, so the caller's arrays are left as they were.
      const plain: Record<string, Feed> = {};
      for (const [name, f] of Object.entries(feeds)) plain[name] = { ...f, dims: [...f.dims] } as Feed;
      const r = await request({ op: 'run', session, feeds: plain });
      return r.outputs!;
    },
  };
}
