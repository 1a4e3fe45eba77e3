/**
 * The download files open in NumPy with the same values, bit for bit: .npy and .npz through
 * numpy.load, .safetensors through a reader written here in a few lines of json + numpy from the
 * published format (an independent reader: no safetensors package is installed). The Python
 * snippet the site shows runs on the files and applies s' = s + α Δs as TypeScript does.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Direction, directionJson, directionNpz, directionSafetensors, pythonSnippet, readDirectionNpz, splitByLayer } from '../../pipeline/store/direction-files.ts';
import { encodeNpy } from '../../pipeline/store/npy.ts';
import { decodeNpz } from '../../pipeline/store/npz.ts';
import { python } from '../helpers/python.ts';
import { tempDir } from '../helpers/tmp.ts';

// The tiny generator's kind of layer list, in generator order (b16 sorts before b4 by name).
const LAYERS = [
  { name: 'b4.conv1', channels: 32 },
  { name: 'b4.torgb', channels: 32 },
  { name: 'b8.conv0', channels: 32 },
  { name: 'b8.conv1', channels: 24 },
  { name: 'b16.conv0', channels: 16 },
];
const total = LAYERS.reduce((a, l) => a + l.channels, 0);
// Non-dyadic values (every mantissa bit matters), about a third of them zero as after β.
const flat = Float32Array.from({ length: total }, (_, i) => (i % 3 === 0 ? Math.sin(i + 1) * 0.7 : 0));
const direction: Direction = {
  layers: splitByLayer(flat, LAYERS),
  metadata: {
    neutral: 'face with hair',
    target: 'face with grey hair — “quoted” ✓',
    beta: 0.15,
    alphaRange: [-10, 10],
    alphaDefault: 4.1,
    activeChannels: flat.filter((v) => v !== 0).length,
    generator: { id: 'tiny', sha256: '0123456789abcdef'.repeat(4) },
    encoder: { id: 'clip-tiny', sha256: 'fedcba9876543210'.repeat(4) },
    buildId: 'build-1',
    toolVersion: '0.1.0',
  },
};
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const expectedBits = Object.fromEntries(direction.layers.map((l) => [l.name, bits(l.deltaS)]));

const READER = `
import json, struct, sys, zipfile, io
import numpy as np

def read_safetensors(path):
    """The published layout: u64 LE header size N, N bytes of JSON, then the data buffer."""
    raw = open(path, 'rb').read()
    (n,) = struct.unpack('<Q', raw[:8])
    head = raw[8:8 + n]
    assert (8 + n) % 8 == 0, 'data must start 8-byte aligned'
    assert len(head) - len(head.rstrip(b' ')) < 8, 'header padding is up to 7 spaces'
    header = json.loads(head.decode('utf-8'))
    meta = header.pop('__metadata__', {})
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
    data = raw[8 + n:]
    out, end = {}, 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets']):
        s, e = info['data_offsets']
        assert s == end, (name, s, end)
        assert info['dtype'] == 'F32'
        out[name] = np.frombuffer(data[s:e], dtype='<f4').reshape(info['shape'])
        end = e
    assert end == len(data), 'offsets must cover the whole buffer'
    return list(header.keys()), out, meta
`;

describe('downloads open in NumPy with the same values', () => {
  const dir = tempDir();
  const file = (name: string) => join(dir, name);
  let res: Record<string, any>;

  beforeAll(() => {
    writeFileSync(file('d.safetensors'), directionSafetensors(direction));
    writeFileSync(file('d.npz'), directionNpz(direction));
    writeFileSync(file('dz.npz'), directionNpz(direction, { compress: true }));
    writeFileSync(file('fs3.npy'), encodeNpy({ dtype: 'float32', shape: [total / 4, 4], data: flat }));
    const out = python(
      `${READER}
d = sys.argv[1]
bits = lambda a: np.ascontiguousarray(a, dtype='<f4').view('<u4').ravel().tolist()
res = {}
order, st, meta = read_safetensors(d + '/d.safetensors')
res['st'] = {'order': order, 'meta': meta, 'shapes': {k: list(v.shape) for k, v in st.items()}, 'bits': {k: bits(v) for k, v in st.items()}}
for key in ['d', 'dz']:
    with np.load(d + '/' + key + '.npz') as f:
        files = list(f.files)
        arrays = {k: f[k] for k in files}
    header = json.loads(str(arrays.pop('__metadata__')))
    # Each member is byte-identical to what numpy.save writes for the array it holds.
    same = {}
    with zipfile.ZipFile(d + '/' + key + '.npz') as z:
        for info in z.infolist():
            buf = io.BytesIO()
            np.save(buf, np.load(io.BytesIO(z.read(info.filename))))
            same[info.filename] = (buf.getvalue() == z.read(info.filename), info.compress_type)
    res[key] = {'files': files, 'header': header, 'dtypes': {k: str(v.dtype) for k, v in arrays.items()},
                'shapes': {k: list(v.shape) for k, v in arrays.items()}, 'bits': {k: bits(v) for k, v in arrays.items()}, 'same': same}
a = np.load(d + '/fs3.npy')
res['npy'] = {'dtype': str(a.dtype), 'shape': list(a.shape), 'bits': bits(a)}
# The other way: numpy writes a direction .npz itself (savez / savez_compressed) for TS to read.
h = dict(res['d']['header'])
arrs = {l['name']: np.asarray(res['st']['bits'][l['name']], dtype='<u4').view('<f4') for l in h['layers']}
np.savez(d + '/numpy.npz', **arrs, __metadata__=json.dumps(h))
np.savez_compressed(d + '/numpy-z.npz', **arrs, __metadata__=json.dumps(h))
print(json.dumps(res))
`,
      [dir],
    );
    res = JSON.parse(out);
  });

  it('.safetensors: the independent reader finds every layer, bit-exact, with its shape and the metadata', () => {
    expect(res.st.order).toEqual([...LAYERS.map((l) => l.name)].sort());
    expect(res.st.bits).toEqual(expectedBits);
    expect(res.st.shapes).toEqual(Object.fromEntries(LAYERS.map((l) => [l.name, [l.channels]])));
    expect(res.st.meta.target).toBe(direction.metadata.target);
    expect(JSON.parse(res.st.meta.layers)).toEqual(LAYERS);
    expect(JSON.parse(res.st.meta.alphaDefault)).toBe(4.1);
    expect(JSON.parse(res.st.meta.generator)).toEqual(direction.metadata.generator);
  });

  it('.npz (stored and deflated): numpy.load gives the layers in order, bit-exact, float32, and the header', () => {
    for (const key of ['d', 'dz']) {
      expect(res[key].files).toEqual([...LAYERS.map((l) => l.name), '__metadata__']);
      expect(res[key].bits).toEqual(expectedBits);
      expect(Object.values(res[key].dtypes).every((t) => t === 'float32')).toBe(true);
      expect(res[key].shapes['b8.conv1']).toEqual([24]);
      const { active: _active, ...header } = JSON.parse(directionJson(direction));
      expect(res[key].header).toEqual(header);
      // [same bytes as numpy.save, zip method]: 0 = stored (numpy.savez), 8 = deflated (savez_compressed)
      for (const [, [same, method]] of Object.entries(res[key].same as Record<string, [boolean, number]>)) {
        expect(same).toBe(true);
        expect(method).toBe(key === 'd' ? 0 : 8);
      }
    }
  });

  it('.npy: numpy.load gives the 2-D float32 array bit-exact', () => {
    expect(res.npy).toEqual({ dtype: 'float32', shape: [total / 4, 4], bits: bits(flat) });
  });

  it('TS reads the .npz files numpy writes itself (savez and savez_compressed, zip64 records)', () => {
    for (const name of ['numpy.npz', 'numpy-z.npz']) {
      const back = readDirectionNpz(readFileSync(file(name)), name);
      expect(Object.fromEntries(back.layers.map((l) => [l.name, bits(l.deltaS)]))).toEqual(expectedBits);
      expect(back.header.target).toBe(direction.metadata.target);
      expect(decodeNpz(readFileSync(file(name))).get('__metadata__')?.dtype).toBe('unicode');
    }
  });
});

describe('the Python snippet runs and applies s\u2032 = s + \u03b1 \u0394s', () => {
  const dir = tempDir();
  it('for .npz (numpy only) and .safetensors (through a safe_open stand-in over the reader above)', () => {
    writeFileSync(join(dir, 'd.safetensors'), directionSafetensors(direction));
    writeFileSync(join(dir, 'd.npz'), directionNpz(direction));
    for (const ext of ['npz', 'safetensors']) writeFileSync(join(dir, `${ext}.py`), pythonSnippet(join(dir, `d.${ext}`)));
    // safe_open's API (keys, get_tensor, metadata) over the independent reader; the real package is not installed here.
    const shim = `${READER}
class _File:
    def __init__(self, path): self._order, self._t, self._m = read_safetensors(path)
    def __enter__(self): return self
    def __exit__(self, *a): return False
    def keys(self): return sorted(self._t)
    def get_tensor(self, name): return self._t[name].copy()
    def metadata(self): return self._m
def safe_open(filename, framework, device='cpu'):
    assert framework in ('numpy', 'np'), framework
    return _File(filename)
`;
    python(`import os, sys; os.makedirs(sys.argv[1] + '/shim/safetensors', exist_ok=True); open(sys.argv[1] + '/shim/safetensors/__init__.py', 'w').write(sys.argv[2])`, [dir, shim]);
    const out = python(
      `
import io, json, sys, contextlib
import numpy as np
d = sys.argv[1]
sys.path.insert(0, d + '/shim')
res = {}
for ext in ['npz', 'safetensors']:
    ns = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(open(d + '/' + ext + '.py').read(), ns)
    s = {name: ((np.arange(2 * v.shape[0], dtype=np.float32).reshape(2, -1) % 7) - 3) / np.float32(4) for name, v in ns['delta_s'].items()}
    edited = ns['apply_direction'](s, alpha=2.5)
    res[ext] = {'printed': printed.getvalue(), 'alpha': ns['alpha'], 'dtype': str(edited['b8.conv1'].dtype),
                'bits': {k: v.view('<u4').ravel().tolist() for k, v in edited.items()},
                'default': {k: v.view('<u4').ravel().tolist() for k, v in ns['edited'].items()}}
print(json.dumps(res))
`,
      [dir],
    );
    const res = JSON.parse(out);
    for (const ext of ['npz', 'safetensors']) {
      const r = res[ext];
      expect(r.printed).toContain('face with hair -> face with grey hair');
      expect(r.alpha).toBe(4.1);
      expect(r.dtype).toBe('float32');
      for (const l of direction.layers) {
        const c = l.deltaS.length;
        const s = Float32Array.from({ length: 2 * c }, (_, i) => ((i % 7) - 3) / 4);
        // float32 arithmetic as numpy does it: α·Δs rounded, then the sum rounded.
        const want = s.map((v, i) => Math.fround(v + Math.fround(2.5 * l.deltaS[i % c])));
        expect({ layer: l.name, bits: r.bits[l.name] }).toEqual({ layer: l.name, bits: bits(want) });
        const wantDefault = Float32Array.from({ length: c }, (_, i) => Math.fround(0 + Math.fround(Math.fround(4.1) * l.deltaS[i])));
        expect({ layer: l.name, bits: r.default[l.name] }).toEqual({ layer: l.name, bits: bits(wantDefault) });
      }
    }
  });
});
