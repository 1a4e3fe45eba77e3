/** Run the real `styleatlas` bin in a child process, as a user would. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './bundles.ts';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `env` is added to this process's environment; a variable given as undefined is removed. */
export function cli(args: readonly string[], opts: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {}): CliResult {
  const env = { ...process.env, ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'styleatlas.mjs'), ...args], {
    cwd: opts.cwd ?? REPO,
    env,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 600_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
