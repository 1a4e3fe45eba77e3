/** The --device / --threads options every command that runs models shares. */
import { parseDevice, resolveDevice } from '../models/devices.ts';
import type { RuntimeOptions } from '../models/runtime.ts';
import { int, str } from './args.ts';
import type { CliIO, CommandContext, OptionSpec } from './command.ts';

export const runtimeOptionSpec: OptionSpec = {
  device: { type: 'string' },
  threads: { type: 'string' },
};

export const runtimeOptionHelp = `  --device NAME     execution provider: cpu (default), cuda, webgpu, or auto (cuda when its
                    provider and an NVIDIA device are here, else cpu). A GPU device runs every
                    node on the GPU or stops with E_DEVICE; it never falls back to the CPU.
  --threads N       threads per operator (default: all cores)`;

/** The options, with `auto` resolved to a device; an `auto` choice is said on stderr. */
export function runtimeOptions(values: CommandContext['values'], io?: Pick<CliIO, 'err' | 'env'>): RuntimeOptions {
  const request = parseDevice(str(values, 'device') ?? 'cpu');
  const { device, reason } = resolveDevice(request, io?.env);
  if (request === 'auto') io?.err(`device: ${device} (${reason})`);
  return { device, threads: int(values, 'threads', 0, [0, 1024]) };
}
