// Part of the onnxruntime adapter: imported before onnxruntime-node by runtime.ts and
// runtime-worker.mjs, because onnxruntime reads ORT_DISABLE_TELEMETRY when it starts. Without it
// onnxruntime-node queues usage events (model file and graph names, model metadata, providers,
// run counts and times, a device id) in ~/.cache/Microsoft/DeveloperTools/.onnxruntime for
// upload, and leaves mat-debug-<pid>.log and .ses in the temp folder. A value the user set
// (ORT_DISABLE_TELEMETRY=0 turns telemetry back on) is left as it is. This is the one module
// with an effect at import time, by necessity: an ES module's imports run before its body.
if (process.env.ORT_DISABLE_TELEMETRY === undefined) process.env.ORT_DISABLE_TELEMETRY = '1';
