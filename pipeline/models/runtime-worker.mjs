// Part of the onnxruntime adapter (runtime.ts): InferenceSessions in a worker thread, so a
// long run does not block the main thread (onnxruntime-node's run() is synchronous there).
// Several models may share one worker (runs of all of them go in one queue, one at a time):
// workerData.models maps a name to the model's bytes or path.
// Plain JavaScript: worker threads do not inherit the TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import './ort-privacy.mjs'; // before onnxruntime-node, as in runtime.ts
import * as ort from 'onnxruntime-node';

const { models, options, sessionEntries = {}, modelOptions = {} } = workerData;
const sessions = new Map();
// Per model, session options (e.g. enableMemPattern) and extra session config entries (e.g.
// intra_op.allow_spinning) on top of the shared options.
const optionsOf = (name) => {
  const more = sessionEntries[name];
  const own = { ...options, ...modelOptions[name] };
  if (!more) return own;
  return { ...own, extra: { ...own.extra, session: { ...own.extra?.session, ...more } } };
};
try {
  for (const name of Object.keys(models)) {
    sessions.set(name, await ort.InferenceSession.create(models[name], optionsOf(name)));
    // onnxruntime holds its own copy of the weights now: the model's bytes (FFHQ-1024 + ViT-B/32:
    // ~0.5 GB) need not stay alive beside it for the worker's life.
    delete models[name];
  }
} catch (e) {
  parentPort.postMessage({ type: 'error', message: String(e && e.message ? e.message : e) });
  process.exit(0);
}
const meta = (list) => list.map((v) => ({ name: v.name, type: v.isTensor ? v.type : 'non-tensor', shape: v.isTensor ? [...v.shape] : [] }));
const info = {};
for (const [name, s] of sessions) info[name] = { inputs: meta(s.inputMetadata), outputs: meta(s.outputMetadata) };
parentPort.postMessage({ type: 'ready', models: info });

parentPort.on('message', async (msg) => {
  if (msg.type === 'release') {
    for (const s of sessions.values()) await s.release();
    parentPort.postMessage({ type: 'released' });
    return;
  }
  try {
    const session = sessions.get(msg.model);
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
