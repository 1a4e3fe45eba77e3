/** Where a result came from: the tool version and, when run from a git checkout, its commit. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TOOL_VERSION } from '../version.ts';

let commit: string | undefined;

export function toolCommit(): string {
  if (commit === undefined) {
    try {
      const repo = fileURLToPath(new URL('../..', import.meta.url));
      const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      commit = dirty ? `${head}+dirty` : head;
    } catch {
      commit = 'unknown';
    }
  }
  return commit;
}

export function toolProvenance(): { tool: string; commit: string } {
  return { tool: TOOL_VERSION, commit: toolCommit() };
}
