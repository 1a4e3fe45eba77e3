/** Run the real `styleatlas` bin in a child process, as a user would. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './bundles.ts';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: readonly string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'styleatlas.mjs'), ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: 600_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
