/**
 * Coded errors. Every failure a user can cause carries a stable code and says what to do;
 * only the CLI turns them into exit codes.
 */
export type ErrorCode =
  | 'E_USAGE' // bad command line
  | 'E_INPUT' // a value given by the user is out of range or unparsable
  | 'E_MANIFEST' // a bundle manifest is missing a key or has a wrong value
  | 'E_SHAPE' // a tensor or graph has a different shape than expected
  | 'E_CHECKSUM' // a file's sha256 differs from its manifest
  | 'E_MISSING' // a file or folder does not exist
  | 'E_NUMERIC' // NaN or Inf where numbers were expected
  | 'E_PROMPT' // a prompt is empty or too long
  | 'E_RUNTIME' // ONNX Runtime refused or failed
  | 'E_NODE' // the running Node.js is outside the supported range (printed by pipeline/cli/node-version.mjs)
  | 'E_RESUME' // a build cannot be resumed as asked
  | 'E_SHARD' // shards are missing, duplicated or mismatched
  | 'E_CHECKPOINT' // a checkpoint is unsafe or malformed
  | 'E_GRAD' // a graph cannot be differentiated as asked (an operator without a gradient rule, a shape it cannot know)
  | 'E_STORE' // an output store (Arrow, SQLite) is unreadable or inconsistent
  | 'E_OUTPUT' // an output cannot be written there (disk full, no permission, a file where a folder goes)
  | 'E_DEVICE' // the asked device (cuda, webgpu) cannot run here or cannot run the whole graph
  | 'E_LOCKED' // another process (named by pid and host) is writing the same folder
  | 'E_CONFIG' // a nightly config file has an unknown, missing or wrong key
  | 'E_SCHEDULER' // a batch scheduler (Slurm) is missing or refused a job
  | 'E_JOB' // a step of a nightly (a process or a scheduler job) failed; its log says why
  | 'E_LIVE_TEXT'; // no text tower the live page can run: too large even as int8, or its int8 Δt disagrees with float32's

export class StyleAtlasError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  constructor(code: ErrorCode, message: string, hint?: string) {
    super(message);
    this.name = 'StyleAtlasError';
    this.code = code;
    this.hint = hint;
  }
}

export function fail(code: ErrorCode, message: string, hint?: string): never {
  throw new StyleAtlasError(code, message, hint);
}

export function isStyleAtlasError(e: unknown): e is StyleAtlasError {
  return e instanceof StyleAtlasError;
}
