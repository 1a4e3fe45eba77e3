/** The --device / --threads options every command that runs models shares. */
import { parseDevice, type RuntimeOptions } from '../models/runtime.ts';
import { int, str } from './args.ts';
import type { CommandContext, OptionSpec } from './command.ts';

export const runtimeOptionSpec: OptionSpec = {
  device: { type: 'string' },
  threads: { type: 'string' },
};

export const runtimeOptionHelp = `  --device NAME     execution provider: cpu (default), cuda, webgpu
  --threads N       threads per operator (default: all cores)`;

export function runtimeOptions(values: CommandContext['values']): RuntimeOptions {
  return { device: parseDevice(str(values, 'device') ?? 'cpu'), threads: int(values, 'threads', 0, [0, 1024]) };
}
