/**
 * torch.save's zip format (PyTorch ≥ 1.6): `<name>/data.pkl` holds the object, each storage is the
 * raw entry `<name>/data/<key>` that a persistent id `('storage', cls, key, location, numel)` names,
 * `<name>/byteorder` says how the elements are stored (little-endian when absent). A TorchScript
 * archive (torch.jit.save) is the same zip plus `code/` and `constants.pkl`; its data.pkl is read
 * with the `__torch__` classes as inert objects (./torchscript.ts).
 */
import { fail } from '../../core/errors.ts';
import type { LoadSession } from './session.ts';
import { parsePickle } from './pickle.ts';
import { ELEMENT_SIZE } from './tensor.ts';
import { parseStoragePid } from './torch-globals.ts';
import { torchScriptResolver } from './torchscript.ts';
import { TorchStorage } from './values.ts';
import type { PyValue } from './values.ts';
import { openZip } from './zip.ts';

const latin1 = new TextDecoder('latin1');

export interface TorchZipContents {
  value: PyValue;
  /** A TorchScript archive: `value` is its root module, an InertObject. */
  torchScript: boolean;
}

export function readTorchZip(bytes: Uint8Array, session: LoadSession): TorchZipContents {
  const spend = (n: number, what: string) => session.budget.spend(n, what);
  const zip = openZip(bytes, spend);
  const pickles = zip.names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    fail('E_CHECKPOINT', `a torch.save archive has exactly one <name>/data.pkl; this zip has ${pickles.length}`);
  }
  const prefix = pickles[0].slice(0, -'/data.pkl'.length);
  const torchScript = zip.has(`${prefix}/constants.pkl`) || zip.names.some((n) => n.startsWith(`${prefix}/code/`));
  let littleEndian = true;
  if (zip.has(`${prefix}/byteorder`)) {
    const order = latin1.decode(zip.read(`${prefix}/byteorder`)).trim();
    if (order !== 'little' && order !== 'big') fail('E_CHECKPOINT', `unknown byteorder ${JSON.stringify(order.slice(0, 20))}`);
    littleEndian = order === 'little';
  }

  const storages = new Map<string, TorchStorage>();
  const persistentLoad = (pid: unknown): TorchStorage => {
    const { dtype, key, numel } = parseStoragePid(pid, [5]);
    const known = storages.get(key);
    if (known) {
      if (known.dtype !== dtype || known.numel !== numel) {
        fail('E_CHECKPOINT', `storage ${JSON.stringify(key)} is named as ${known.dtype}[${known.numel}] and as ${dtype}[${numel}]`);
      }
      return known;
    }
    const record = `${prefix}/data/${key}`;
    if (!zip.has(record)) fail('E_CHECKPOINT', `storage ${JSON.stringify(key)} has no entry ${JSON.stringify(record)}`);
    const storage = new TorchStorage(dtype, numel, key, littleEndian);
    storage.bytes = zip.read(record);
    if (storage.bytes.length !== numel * ELEMENT_SIZE[dtype]) {
      fail('E_CHECKPOINT', `storage ${JSON.stringify(key)} has ${storage.bytes.length} bytes, expected ${numel} ${dtype} elements`);
    }
    storages.set(key, storage);
    return storage;
  };

  const pkl = zip.read(`${prefix}/data.pkl`);
  const extra = torchScript ? torchScriptResolver(zip, prefix, spend) : undefined;
  const { value, end } = parsePickle(pkl, 0, session.hooks(persistentLoad, extra));
  if (end !== pkl.length) fail('E_CHECKPOINT', `${prefix}/data.pkl has ${pkl.length - end} bytes after its end`);
  return { value, torchScript };
}
