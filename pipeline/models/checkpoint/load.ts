/**
 * Entry point: recognise the container (torch.save zip, TorchScript archive, legacy torch.save, or a
 * plain pickle such as NVIDIA's network pickles) and decode it to plain values with materialized
 * tensors.
 */
import { fail } from '../../core/errors.ts';
import { parsePickle } from './pickle.ts';
import { budgetFor } from './rebuild.ts';
import type { Budget } from './rebuild.ts';
import { newSession } from './session.ts';
import type { LoadSession } from './session.ts';
import { isLegacyTorchSave, readTorchLegacy } from './torch-legacy.ts';
import { readTorchZip } from './torch-zip.ts';
import { TorchStorage, describe } from './values.ts';
import type { PyValue } from './values.ts';

/** How a file is stored; `torchscript` is recognised when the zip is opened (detectFormat says torch-zip). */
export type CheckpointFormat = 'torch-zip' | 'torchscript' | 'torch-legacy' | 'pickle';

export interface Checkpoint {
  format: CheckpointFormat;
  /** For `torchscript`, the root module (an InertObject; see scriptStateDict). */
  value: PyValue;
  /** The file's length in bytes, which bounds the walks over `value` (./walk-budget.ts). */
  size: number;
}

/** Storages inside storages (`_load_from_bytes` in a stream read by `_load_from_bytes`) stop here. */
const MAX_NESTING = 2;

export function detectFormat(bytes: Uint8Array): CheckpointFormat {
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5)) return 'torch-zip';
  if (isLegacyTorchSave(bytes)) return 'torch-legacy';
  if (bytes.length > 262 && String.fromCharCode(...bytes.subarray(257, 262)) === 'ustar') {
    return fail('E_CHECKPOINT', 'this is a tar-format checkpoint from PyTorch < 0.4, which is not supported',
      'load it with an old PyTorch and re-save it with torch.save');
  }
  if (bytes.length >= 2 && bytes[0] === 0x80) return 'pickle';
  if (bytes.length >= 9 && bytes[8] === 0x7b) {
    return fail('E_CHECKPOINT', 'this looks like a safetensors file, not a PyTorch checkpoint', 'read it with the safetensors reader');
  }
  return fail('E_CHECKPOINT', `not a PyTorch checkpoint: expected a zip archive or a pickle (protocol 2–5), ${bytes.length} bytes`);
}

function readPlainPickle(bytes: Uint8Array, session: LoadSession): PyValue {
  const { value, end } = parsePickle(bytes, 0, session.hooks(() =>
    fail('E_CHECKPOINT', 'a plain pickle with persistent ids cannot be read: its storages are elsewhere')));
  if (end !== bytes.length) fail('E_CHECKPOINT', `${bytes.length - end} unexpected bytes after the pickle`);
  return value;
}

function readWith(bytes: Uint8Array, format: CheckpointFormat, session: LoadSession): Checkpoint {
  if (format === 'torch-zip') {
    const { value, torchScript } = readTorchZip(bytes, session);
    return { format: torchScript ? 'torchscript' : 'torch-zip', value, size: bytes.length };
  }
  if (format === 'torch-legacy') return { format, value: readTorchLegacy(bytes, session), size: bytes.length };
  return { format, value: readPlainPickle(bytes, session), size: bytes.length };
}

function sessionAt(budget: Budget, depth: number): LoadSession {
  return newSession(budget, (bytes) => loadStorageFromBytes(bytes, budget, depth + 1));
}

/** `torch.storage._load_from_bytes(b)`: `b` is a torch.save stream whose object is one storage. */
function loadStorageFromBytes(bytes: Uint8Array, budget: Budget, depth: number): TorchStorage {
  if (depth > MAX_NESTING) fail('E_CHECKPOINT', 'storages nested inside storages more than twice');
  const format = detectFormat(bytes);
  if (format === 'pickle') fail('E_CHECKPOINT', 'a pickled storage is not a torch.save stream');
  const { value } = readWith(bytes, format, sessionAt(budget, depth));
  if (!(value instanceof TorchStorage)) fail('E_CHECKPOINT', `a pickled storage holds ${describe(value)}, not a storage`);
  return value;
}

/** Decodes a checkpoint held in memory. Never runs code; any refusal or damage is an E_CHECKPOINT error. */
export function readCheckpoint(input: Uint8Array): Checkpoint {
  // A plain Uint8Array view, so that no Buffer (whose slice() does not copy) reaches the readers.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const format = detectFormat(bytes);
  const session = sessionAt(budgetFor(bytes.length), 0);
  const checkpoint = readWith(bytes, format, session);
  session.rebuilder.finish();
  return checkpoint;
}
