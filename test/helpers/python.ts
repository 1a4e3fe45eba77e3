/**
 * Run reference Python (Debian's /usr/bin/python3 with python3-torch, -onnx, -numpy, -pil).
 * A missing module fails the test with the command that installs it; nothing is skipped.
 */
import { spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

export function python(script: string, args: readonly string[] = [], opts: { timeoutMs?: number; input?: string } = {}): string {
  const r = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8', timeout: opts.timeoutMs ?? 600_000, input: opts.input, maxBuffer: 1 << 28 });
  if (r.error) throw new Error(`${PYTHON} could not run: ${r.error.message} — run scripts/install-test-deps.sh (as .ci/run does)`);
  if (r.status !== 0) {
    const missing = /ModuleNotFoundError: No module named '([^']+)'/.exec(r.stderr)?.[1];
    if (missing) throw new Error(`${PYTHON} lacks the module ${missing}: run scripts/install-test-deps.sh (as .ci/run does)`);
    throw new Error(`python failed (${r.status}):\n${r.stderr}`);
  }
  return r.stdout;
}
