/**
 * torch.save's legacy format (before PyTorch 1.6, and still how a storage pickles itself): five
 * pickles back to back — magic number, protocol version 1001, system info, the object (storages as
 * persistent ids `('storage', cls, key, location, numel, view)`), the sorted storage keys — then each
 * storage as an int64 element count and its raw little-endian bytes.
 */
import { fail } from '../../core/errors.ts';
import { parsePickle } from './pickle.ts';
import type { LoadSession } from './session.ts';
import { ELEMENT_SIZE } from './tensor.ts';
import { parseStoragePid } from './torch-globals.ts';
import { TorchStorage, describe, expectIndex, expectString, expectTuple } from './values.ts';
import type { PyValue } from './values.ts';

const MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;
// The magic number as the first pickle writes it: LONG1, 10 bytes, little-endian, then STOP.
const MAGIC_PICKLE = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];

export function isLegacyTorchSave(bytes: Uint8Array): boolean {
  // PROTO n, then (protocol ≥ 4) a FRAME of 9 bytes, then the magic number.
  const start = bytes[2] === 0x95 ? 11 : 2;
  return bytes.length > start + 13 && bytes[0] === 0x80 && MAGIC_PICKLE.every((b, i) => bytes[start + i] === b);
}

function noPersistentIds(): never {
  return fail('E_CHECKPOINT', 'unexpected persistent id in a legacy torch.save header');
}

interface View {
  storage: TorchStorage;
  root: TorchStorage;
  offset: number;
}

export function readTorchLegacy(bytes: Uint8Array, session: LoadSession): PyValue {
  const plain = session.hooks(noPersistentIds);
  const magic = parsePickle(bytes, 0, plain);
  if (magic.value !== MAGIC_NUMBER) fail('E_CHECKPOINT', 'not a legacy torch.save file (wrong magic number)');
  const version = parsePickle(bytes, magic.end, plain);
  if (version.value !== PROTOCOL_VERSION) fail('E_CHECKPOINT', `legacy torch.save protocol ${describe(version.value)} is not 1001`);
  // System info (endianness, C type sizes) describes the writer; the storages are little-endian regardless.
  const sysInfo = parsePickle(bytes, version.end, plain);
  if (!(sysInfo.value instanceof Map)) fail('E_CHECKPOINT', 'legacy torch.save system info is not a dict');

  const roots = new Map<string, TorchStorage>();
  const views = new Map<string, View>();
  const persistentLoad = (pid: unknown): TorchStorage => {
    const { dtype, key, numel, view } = parseStoragePid(pid, [6]);
    let root = roots.get(key);
    if (!root) {
      root = new TorchStorage(dtype, numel, key, true);
      roots.set(key, root);
    } else if (root.dtype !== dtype || root.numel !== numel) {
      fail('E_CHECKPOINT', `storage ${JSON.stringify(key)} is named with two different types or sizes`);
    }
    if (view === null) return root;
    // Storage views of PyTorch < 0.4: (view_key, offset, size) in elements of the root.
    const [viewKey, offsetValue, sizeValue] = expectTuple(view, 'storage view', [3]);
    const name = expectString(viewKey, 'storage view key');
    const offset = expectIndex(offsetValue, 'storage view offset');
    const size = expectIndex(sizeValue, 'storage view size');
    if (offset + size > root.numel) fail('E_CHECKPOINT', `storage view ${JSON.stringify(name)} lies outside its storage`);
    const known = views.get(name);
    if (known) return known.storage;
    const storage = new TorchStorage(dtype, size, name, true);
    views.set(name, { storage, root, offset });
    return storage;
  };
  const main = parsePickle(bytes, sysInfo.end, session.hooks(persistentLoad));

  const keys = parsePickle(bytes, main.end, plain);
  if (!Array.isArray(keys.value)) fail('E_CHECKPOINT', 'legacy torch.save storage key list is not a list');
  let at = keys.end;
  const seen = new Set<string>();
  for (const k of keys.value) {
    const key = expectString(k, 'storage key');
    const storage = roots.get(key);
    if (!storage || seen.has(key)) fail('E_CHECKPOINT', `storage key ${JSON.stringify(key.slice(0, 40))} is unknown or repeated`);
    seen.add(key);
    if (at + 8 > bytes.length) fail('E_CHECKPOINT', `storage ${JSON.stringify(key)} is missing (truncated file?)`);
    const count = new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigUint64(0, true);
    if (count !== BigInt(storage.numel)) {
      fail('E_CHECKPOINT', `storage ${JSON.stringify(key)} holds ${count} elements, its tensor says ${storage.numel}`);
    }
    const nbytes = storage.numel * ELEMENT_SIZE[storage.dtype];
    if (at + 8 + nbytes > bytes.length) fail('E_CHECKPOINT', `storage ${JSON.stringify(key)} is cut short (truncated file?)`);
    storage.bytes = bytes.subarray(at + 8, at + 8 + nbytes);
    at += 8 + nbytes;
  }
  if (at !== bytes.length) fail('E_CHECKPOINT', `${bytes.length - at} unexpected bytes after the last storage`);
  for (const { storage, root, offset } of views.values()) {
    if (root.bytes) {
      const size = ELEMENT_SIZE[storage.dtype];
      storage.bytes = root.bytes.subarray(offset * size, (offset + storage.numel) * size);
    }
  }
  return main.value;
}
