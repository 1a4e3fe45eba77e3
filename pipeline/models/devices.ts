/**
 * Devices: the names users pass (--device), the one execution provider each one runs on, and
 * what is known before onnxruntime loads about whether it can work here. A device is never
 * swapped for another one: a provider that is missing or refuses the graph is E_DEVICE.
 * runtime.ts (the one onnxruntime adapter) opens sessions with exactly these providers.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fail } from '../core/errors.ts';

/** Device name → onnxruntime execution provider. Each device runs on its provider alone. */
export const EXECUTION_PROVIDERS = Object.freeze({
  cpu: 'cpu',
  cuda: 'cuda',
  webgpu: 'webgpu',
} as const);
export type Device = keyof typeof EXECUTION_PROVIDERS;
/** What --device accepts: a device, or `auto` (CUDA when it can run here, else the CPU). */
export type DeviceRequest = Device | 'auto';

export const DEVICE_HINTS: Readonly<Record<Exclude<Device, 'cpu'>, string>> = Object.freeze({
  cuda: 'install the CUDA provider with `ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js` on a machine with CUDA 12 and an NVIDIA driver (README, "GPU"), or pass --device cpu',
  webgpu: 'webgpu needs a Vulkan loader and a GPU driver that provides Vulkan (Debian: `apt-get install libvulkan1` plus your GPU vendor\'s Vulkan driver), or pass --device cpu',
});

export function parseDevice(name: string): DeviceRequest {
  if (name !== 'auto' && !Object.hasOwn(EXECUTION_PROVIDERS, name)) {
    fail('E_INPUT', `unknown device "${name}"; valid devices: ${[...Object.keys(EXECUTION_PROVIDERS), 'auto'].join(', ')}`);
  }
  return name as DeviceRequest;
}

/** Where onnxruntime-node keeps its native binding and any provider libraries beside it. */
function bindingDir(): string {
  const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  return join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

const VULKAN_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64', '/usr/local/lib'];
const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
/** Vulkan drivers that render on the CPU: a "webgpu" run on them would be a CPU run. */
const SOFTWARE_ICDS = /lvp|lavapipe|swiftshader|llvmpipe/i;

/** Why no Vulkan GPU driver is usable, or undefined when one may be (Linux). */
function vulkanProblem(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const dirs = [...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...VULKAN_DIRS];
  if (!dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')))) return 'no Vulkan loader (libvulkan.so.1) on this machine';
  const named = (env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES ?? '').split(':').filter(Boolean);
  const icds = named.length > 0 ? named : ICD_DIRS.flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')) : []));
  if (icds.length === 0) return 'a Vulkan loader but no Vulkan driver (no ICD in /usr/share/vulkan/icd.d)';
  if (icds.every((f) => SOFTWARE_ICDS.test(f))) return `the only Vulkan drivers render on the CPU (${icds.join(', ')})`;
  return undefined;
}

/**
 * Why `device` certainly cannot run here, or undefined when it may (onnxruntime has the last
 * word when the session opens). Checked before onnxruntime loads the provider, so the common
 * failures give one E_DEVICE line instead of native log lines.
 */
export function deviceUnavailable(device: Device, env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  if (device === 'cpu') return undefined;
  if (device === 'cuda') {
    if (process.platform !== 'linux' && process.platform !== 'win32') return `onnxruntime-node has no CUDA provider for ${process.platform}`;
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    if (!existsSync(join(bindingDir(), lib))) return `onnxruntime-node's CUDA provider (${lib}) is not installed in ${bindingDir()}`;
    return undefined;
  }
  return process.platform === 'linux' ? vulkanProblem(env) : undefined;
}

/** Before onnxruntime touches a provider: E_DEVICE when it certainly cannot run here. */
export function assertDeviceHere(label: string, device: Device): void {
  if (device === 'cpu') return;
  const missing = deviceUnavailable(device);
  if (missing) fail('E_DEVICE', `${label}: --device ${device} cannot run here: ${missing}`, DEVICE_HINTS[device]);
}

/** A session onnxruntime would not open: E_DEVICE on a GPU device (naming a partial placement), E_RUNTIME on the CPU. */
export function deviceOpenFailure(label: string, device: Device, message: string): never {
  if (device === 'cpu') fail('E_RUNTIME', `${label}: onnxruntime could not load the model on cpu: ${message}`);
  const partial = /fallback to CPU EP has been explicitly disabled/.test(message);
  fail(
    'E_DEVICE',
    partial
      ? `${label}: onnxruntime's ${device} provider cannot run every node of this graph, and StyleAtlas does not run a ${device} build partly on the CPU`
      : `${label}: onnxruntime could not open the model on ${device}: ${message}`,
    DEVICE_HINTS[device],
  );
}

/** The device a request runs on, and why (auto never picks webgpu: a Vulkan device may be a CPU). */
export function resolveDevice(request: DeviceRequest, env: Readonly<Record<string, string | undefined>> = process.env): { device: Device; reason: string } {
  if (request !== 'auto') {
    const missing = deviceUnavailable(request, env);
    if (missing) fail('E_DEVICE', `--device ${request} cannot run here: ${missing}`, DEVICE_HINTS[request as Exclude<Device, 'cpu'>]);
    return { device: request, reason: 'as asked' };
  }
  const missing = deviceUnavailable('cuda', env);
  if (missing) return { device: 'cpu', reason: `auto: ${missing}` };
  if (!existsSync('/dev/nvidiactl') && process.platform === 'linux') return { device: 'cpu', reason: 'auto: the CUDA provider is installed but no NVIDIA device (/dev/nvidiactl) is present' };
  return { device: 'cuda', reason: 'auto: the CUDA provider is installed and an NVIDIA device is present' };
}

/** Where a piece of work ran: what build.sqlite records per chunk, and what commands print. */
export interface ExecutionRecord {
  /** The execution provider every node of the session ran on. */
  provider: Device;
  onnxruntime: string;
  /** Requested threads per operator (0 = onnxruntime's default), and the cores there were. */
  threads: number;
  cores: number;
  cpu: string;
  /** The GPU's model for cuda (from nvidia-smi), or null on the CPU. */
  gpu: string | null;
  host: string;
  pid: number;
}

function gpuModel(device: Device, env: Readonly<Record<string, string | undefined>>): string | null {
  if (device === 'cpu') return null;
  if (device === 'webgpu') return 'unknown (onnxruntime does not report the WebGPU adapter)';
  try {
    const visible = env.CUDA_VISIBLE_DEVICES?.split(',')[0];
    const args = ['--query-gpu=name', '--format=csv,noheader', ...(visible ? ['-i', visible] : [])];
    return execFileSync('nvidia-smi', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).split('\n')[0].trim() || 'unknown';
  } catch {
    return 'unknown (nvidia-smi did not answer)';
  }
}

export function executionRecord(device: Device, threads: number, onnxruntime: string, env: Readonly<Record<string, string | undefined>> = process.env): ExecutionRecord {
  return {
    provider: device,
    onnxruntime,
    threads,
    cores: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    gpu: gpuModel(device, env),
    host: hostname(),
    pid: process.pid,
  };
}

/** One line for logs: `cpu (onnxruntime 1.30.0, 2 threads of 2 cores, Intel …) on host`. */
export function describeExecution(r: ExecutionRecord): string {
  const threads = r.threads > 0 ? `${r.threads} threads` : 'default threads';
  return `${r.provider} (onnxruntime ${r.onnxruntime}, ${threads} of ${r.cores} cores, ${r.gpu ?? r.cpu}) on ${r.host}`;
}
