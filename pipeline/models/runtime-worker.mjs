// Part of the onnxruntime adapter (runtime.ts): one InferenceSession in a worker thread, so
// a long run does not block the main thread (onnxruntime-node's run() is synchronous there).
// Plain JavaScript: worker threads do not inherit the TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import './ort-privacy.mjs'; // before onnxruntime-node, as in runtime.ts
import * as ort from 'onnxruntime-node';

const { model, options } = workerData;
let session;
try {
  session = await ort.InferenceSession.create(model, options);
} catch (e) {
  parentPort.postMessage({ type: 'error', message: String(e && e.message ? e.message : e) });
  process.exit(0);
}
const meta = (list) => list.map((v) => ({ name: v.name, type: v.isTensor ? v.type : 'non-tensor', shape: v.isTensor ? [...v.shape] : [] }));
parentPort.postMessage({ type: 'ready', inputs: meta(session.inputMetadata), outputs: meta(session.outputMetadata) });

parentPort.on('message', async (msg) => {
  if (msg.type === 'release') {
    await session.release();
    parentPort.postMessage({ type: 'released' });
    return;
  }
  try {
    const feeds = {};
    for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    const out = msg.outputNames ? await session.run(feeds, msg.outputNames) : await session.run(feeds);
    const outputs = {};
    const transfer = [];
    for (const [name, t] of Object.entries(out)) {
      const data = t.data.slice(); // own buffer, safe to transfer
      outputs[name] = { type: t.type, data, dims: [...t.dims] };
      transfer.push(data.buffer);
    }
    parentPort.postMessage({ type: 'result', id: msg.id, outputs }, transfer);
  } catch (e) {
    parentPort.postMessage({ type: 'result', id: msg.id, error: String(e && e.message ? e.message : e) });
  }
});
