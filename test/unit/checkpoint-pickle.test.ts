// The pickle data parser and tensor helpers, on hand-written bytes (no Python needed).
import { describe, expect, it } from 'vitest';
import { allowedGlobals, flattenTensors, isTuple, readCheckpoint } from '../../pipeline/models/checkpoint/index.ts';
import type { PyDict } from '../../pipeline/models/checkpoint/index.ts';
import { Budget, TensorRebuilder } from '../../pipeline/models/checkpoint/rebuild.ts';
import { checkView, elementView, gather, widenHalf } from '../../pipeline/models/checkpoint/tensor.ts';
import { TorchStorage } from '../../pipeline/models/checkpoint/values.ts';
import { thrownBy } from '../helpers/errors.ts';

const utf8 = new TextEncoder();

/** Bytes from opcodes/text (latin1 strings), single bytes and byte arrays. */
function pk(...parts: (string | number | Uint8Array | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return new Uint8Array(out);
}
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const str = (s: string) => { const b = utf8.encode(s); return pk('X', u32(b.length), b); };
const glob = (module: string, name: string) => `c${module}\n${name}\n`;
const PROTO2 = [0x80, 2];


const read = (bytes: Uint8Array) => readCheckpoint(bytes).value;

describe('pickle parser: plain data', () => {
  it('decodes containers, numbers, strings, bytes and the memo', () => {
    const bytes = pk(
      PROTO2, '}', 'q', 0, '(',
      str('list'), ']', 'q', 1, '(', 'K', 1, 'J', u32(-7 >>> 0), 'M', 0x34, 0x12, 'N', 0x88, 0x89, 'e',
      str('again'), 'h', 1,
      str('tuple'), 'K', 1, 'K', 2, 0x86,
      str('float'), 'G', [0x3f, 0xf8, 0, 0, 0, 0, 0, 0],
      str('big'), 0x8a, 9, [0, 0, 0, 0, 0, 0, 0, 0, 0x40],
      str('minus1'), 0x8a, 1, [0xff],
      str('bytes'), 'C', 3, [1, 2, 255],
      str('set'), 0x8f, '(', 'K', 3, 'K', 4, 0x90,
      str('frozen'), '(', 'K', 5, 0x91,
      str('uni'), 0x8c, 7, utf8.encode('hé ✓'),
      'u', '.',
    );
    const v = read(bytes) as PyDict;
    expect([...v.keys()]).toEqual(['list', 'again', 'tuple', 'float', 'big', 'minus1', 'bytes', 'set', 'frozen', 'uni']);
    expect(v.get('list')).toEqual([1, -7, 0x1234, null, true, false]);
    expect(v.get('again')).toBe(v.get('list')); // the memo shares one object, as Python does
    expect(isTuple(v.get('tuple'))).toBe(true);
    expect(v.get('tuple')).toEqual([1, 2]);
    expect(v.get('float')).toBe(1.5);
    expect(v.get('big')).toBe(2n ** 70n);
    expect(v.get('minus1')).toBe(-1);
    expect(v.get('bytes')).toEqual(new Uint8Array([1, 2, 255]));
    expect(v.get('set')).toEqual(new Set([3, 4]));
    expect(v.get('frozen')).toEqual(new Set([5]));
    expect(v.get('uni')).toBe('hé ✓');
  });

  it('builds OrderedDict and the protocol-2 spellings of set and bytes', () => {
    const bytes = pk(
      PROTO2, glob('collections', 'OrderedDict'), ')', 'R', '(',
      str('s'), glob('__builtin__', 'set'), ']', '(', 'K', 9, 'e', 0x85, 'R',
      str('b'), glob('_codecs', 'encode'), str('\u00ff\u0000A'), str('latin1'), 0x86, 'R',
      'u', '.',
    );
    const v = read(bytes) as PyDict;
    expect(v.get('s')).toEqual(new Set([9]));
    expect(v.get('b')).toEqual(new Uint8Array([255, 0, 65]));
  });

  it('keeps a list that contains itself as data, and flattenTensors refuses the cycle', () => {
    const v = read(pk(PROTO2, ']', 'q', 0, 'h', 0, 'a', '.')) as unknown[];
    expect(v[0]).toBe(v);
    expect(thrownBy(() => flattenTensors(v as never, 16)).message).toMatch(/contains itself/);
  });
});

describe('pickle parser: refusals', () => {
  const refused = (bytes: Uint8Array, pattern: RegExp) => {
    const e = thrownBy(() => read(bytes));
    expect(e.code).toBe('E_CHECKPOINT');
    expect(e.message).toMatch(pattern);
  };

  it('refuses unknown globals by name, before anything is called', () => {
    refused(pk(PROTO2, glob('posix', 'system'), str('touch x'), 0x85, 'R', '.'),
      /^refusing global posix\.system: checkpoints may only contain tensors and plain containers$/);
    refused(pk(0x80, 4, str('builtins'), str('eval'), 0x93, '.'), /refusing global builtins\.eval/);
    refused(pk(PROTO2, glob('torch.nn.modules.linear', 'Linear'), '.'), /refusing global torch\.nn\.modules\.linear\.Linear/);
    refused(pk(PROTO2, glob('torch._utils', '_rebuild_device_tensor_from_numpy'), '.'), /refusing global torch\._utils\._rebuild_device_tensor_from_numpy/);
  });

  it('refuses INST, OBJ, the extension registry and out-of-band buffers', () => {
    refused(pk(PROTO2, '(', str('touch x'), 'ios\nsystem\n', '.'), /refusing INST os\.system/);
    refused(pk(PROTO2, '(', glob('collections', 'OrderedDict'), 'o', '.'), /refusing OBJ/);
    refused(pk(PROTO2, 0x82, 1, '.'), /extension registry/);
    refused(pk(0x80, 5, 0x97, '.'), /out-of-band/);
    refused(pk(PROTO2, 'I01\n', '.'), /protocol 0\/1 is not supported/);
    refused(pk(0x80, 1, 'N', '.'), /protocol 1 is not supported/);
  });

  it('refuses calling a value-only global and instantiating a function', () => {
    refused(pk(PROTO2, glob('torch', 'FloatStorage'), ')', 'R', '.'), /refusing global torch\.FloatStorage \(called\)/);
    refused(pk(PROTO2, glob('torch._utils', '_rebuild_tensor_v2'), ')', 0x81, '.'), /\(instantiated\)/);
    refused(pk(PROTO2, 'N', ')', 'R', '.'), /REDUCE of None, which is not callable/);
  });

  it('refuses BUILD with state on anything but numpy dtypes and arrays', () => {
    refused(pk(PROTO2, glob('collections', 'OrderedDict'), ')', 'R', '}', str('a'), 'K', 1, 's', 'b', '.'), /refusing BUILD of dict/);
    expect(read(pk(PROTO2, glob('collections', 'OrderedDict'), ')', 'R', 'N', 'b', '.'))).toEqual(new Map());
  });

  it('reports damaged structure with E_CHECKPOINT and the byte offset', () => {
    refused(pk(PROTO2, 'X', u32(100), 'abc'), /at byte 2: a string needs 100 bytes, only 3 left/);
    refused(pk(PROTO2, 'a', '.'), /stack underflow/);
    refused(pk(PROTO2, 'h', 7, '.'), /memo entry 7 is missing/);
    refused(pk(PROTO2, 'N', 'N', '.'), /STOP with 2 values/);
    refused(pk(PROTO2, 'K', 1, 'K'), /needs 1 bytes/);
    refused(pk(PROTO2, 'K', 1), /ended before STOP/);
    refused(pk(PROTO2, 'cposix'), /unterminated/);
    refused(pk(PROTO2, ')', 'K', 1, 'a', '.'), /APPEND to tuple/);
    refused(pk(PROTO2, '}', ']', 'K', 1, 's', '.'), /unhashable dict key/);
    refused(pk(PROTO2, 'N', '.', 'N'), /1 unexpected bytes after the pickle/);
    refused(pk([0x42, 0x41]), /not a PyTorch checkpoint/);
  });

  it('checks huge declared lengths against the input instead of allocating them', () => {
    refused(pk(PROTO2, 0x8b, u32(0x7fffffff), '.'), /integer of 2147483647 bytes/);
    refused(pk(PROTO2, 0x8e, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0], '.'), /a bytes object needs \d+ bytes, only 1 left/);
    refused(pk(PROTO2, 0x8d, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), /length beyond 2\^53/);
  });
});

describe('tensors', () => {
  it('widens float16 and bfloat16 exactly', () => {
    const half = widenHalf(new Uint16Array([0x0000, 0x8000, 0x3c00, 0xc100, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x7e00]), 'float16');
    expect([...half]).toEqual([0, -0, 1, -2.5, 65504, 2 ** -24, Infinity, -Infinity, NaN]);
    expect(Object.is(half[1], -0)).toBe(true);
    expect([...widenHalf(new Uint16Array([0x3f80, 0xc049, 0x7f80]), 'bfloat16')]).toEqual([1, -3.140625, Infinity]);
  });

  it('gathers strided views and reads big-endian storages', () => {
    const src = elementView(new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5]).buffer), 'float32', true);
    expect([...(gather(src, 0, [3, 2], [1, 3]) as unknown as Float32Array)]).toEqual([0, 3, 1, 4, 2, 5]);
    expect([...(gather(src, 1, [2, 2], [3, 1]) as unknown as Float32Array)]).toEqual([1, 2, 4, 5]);
    const be = elementView(new Uint8Array([0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0]), 'float32', false);
    expect([...(gather(be, 0, [2], [1]) as unknown as Float32Array)]).toEqual([1, -2]);
    const odd = new Uint8Array(9).subarray(1); // misaligned view: copied, not rejected
    expect(elementView(odd, 'float32', true).length).toBe(2);
  });

  it('refuses views outside their storage and sizes beyond the budget', () => {
    expect(() => checkView(6, 0, [3, 2], [2, 1], 't')).not.toThrow();
    expect(thrownBy(() => checkView(6, 1, [3, 2], [2, 1], 't')).message).toMatch(/reaches element 6 of a storage of 6/);
    const storage = new TorchStorage('float32', 1, '0', true);
    storage.bytes = new Uint8Array(4);
    const rebuilder = new TensorRebuilder(new Budget(1024));
    // One stored float broadcast to 2^30 elements (stride 0): a 4 GiB allocation from 4 bytes.
    expect(thrownBy(() => rebuilder.rebuild(storage, 0, [2 ** 30], [0])).message).toMatch(/would need 4294967296 bytes/);
    const t = rebuilder.rebuild(storage, 0, [4], [0]);
    rebuilder.finish();
    expect(t.data).toEqual(new Float32Array(4));
  });

  it('allows only data globals', () => {
    const names = allowedGlobals();
    expect(names).toContain('torch._utils._rebuild_tensor_v2');
    expect(names).toContain('torch_utils.persistence._reconstruct_persistent_obj');
    expect(names.filter((n) => n.startsWith('__torch__'))).toEqual([]); // TorchScript classes only inside TorchScript archives
    for (const name of names) {
      expect(name).toMatch(/^(collections\.OrderedDict|(builtins|__builtin__)\.(set|frozenset|bytes|bytearray)|_codecs\.encode|torch\.|numpy\.|torch_utils\.persistence\._reconstruct_persistent_obj$|dnnlib\.util\.EasyDict$|argparse\.Namespace$)/);
      expect(name).not.toMatch(/\b(load|eval|exec|system|import|getattr|apply|open)\b/i);
    }
  });
});
