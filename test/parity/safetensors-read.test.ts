/**
 * pipeline/store/safetensors-read.ts against files written in Python by the parity fixtures' writer
 * (test/fixtures/parity/clip_hf_forward.py): every dtype a checkpoint holds decodes to PyTorch's
 * values, and damaged files are E_STORE errors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { isStyleAtlasError } from '../../pipeline/core/errors.ts';
import { isSafetensors, readSafetensors } from '../../pipeline/store/safetensors-read.ts';
import { PARITY_FIXTURES } from '../fixtures/parity/fixtures.ts';
import { python } from '../helpers/python.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('styleatlas-safetensors-read-');
let expected: Record<string, { shape: number[]; values: (number | string)[] }>;

beforeAll(() => {
  const out = python(
    `
import json, sys, torch
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
from clip_hf_forward import write_safetensors
torch.manual_seed(0)
t = {
  'f32': torch.randn(2, 3),
  'f64': torch.randn(4, dtype=torch.float64),
  'f16': torch.tensor([0.0, -2.5, 65504.0, 6e-8, float('inf')], dtype=torch.float16),
  'bf16': torch.tensor([1.0, -3.140625, 1e30], dtype=torch.bfloat16),
  'i64': torch.tensor([[0, 1, 2**40]]),
  'empty': torch.zeros(0, 4),
}
write_safetensors(sys.argv[2], t, {'format': 'pt'})
enc = lambda x: str(int(x)) if isinstance(x, int) else ('inf' if x == float('inf') else x)
print(json.dumps({k: {'shape': list(v.shape), 'values': [enc(x) for x in (v.double() if v.is_floating_point() else v).reshape(-1).tolist()]} for k, v in t.items()}))
`,
    [PARITY_FIXTURES, join(dir, 'all.safetensors')],
  );
  expected = JSON.parse(out);
});

it('decodes F32, F64, F16, BF16, I64 and empty tensors to the values PyTorch wrote', () => {
  const bytes = new Uint8Array(readFileSync(join(dir, 'all.safetensors')));
  expect(isSafetensors(bytes)).toBe(true);
  const { tensors, metadata } = readSafetensors(bytes);
  expect(metadata).toEqual({ format: 'pt' });
  const num = (v: number | string) => (v === 'inf' ? Infinity : Number(v));
  for (const name of ['f32', 'f64', 'f16', 'bf16', 'empty']) {
    const t = tensors.get(name)!;
    expect(t.shape, name).toEqual(expected[name].shape);
    expect(Array.from(t.data as Float32Array | Float64Array), name).toEqual(expected[name].values.map(num));
  }
  const ids = tensors.get('i64')!;
  expect(ids.shape).toEqual([1, 3]);
  expect(Array.from(ids.data as BigInt64Array, String)).toEqual(expected.i64.values);
});

it('refuses truncated, overlapping and non-safetensors bytes with E_STORE', () => {
  const bytes = new Uint8Array(readFileSync(join(dir, 'all.safetensors')));
  const code = (b: Uint8Array) => {
    try {
      readSafetensors(b);
      return 'read';
    } catch (e) {
      return isStyleAtlasError(e) ? e.code : `uncoded ${String(e)}`;
    }
  };
  expect(code(bytes.subarray(0, bytes.length - 1))).toBe('E_STORE');
  expect(code(bytes.subarray(0, 20))).toBe('E_STORE');
  expect(code(new TextEncoder().encode('not a safetensors file at all'))).toBe('E_STORE');
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + headerLen));
  const overlapping = header.replace(/"data_offsets":\[(\d+),(\d+)\]/, (_, a: string, b: string) => `"data_offsets":[${Number(a) + 4},${Number(b) + 4}]`);
  const damaged = new Uint8Array(bytes);
  damaged.set(new TextEncoder().encode(overlapping.padEnd(headerLen).slice(0, headerLen)), 8);
  expect(code(damaged)).toBe('E_STORE');
});
