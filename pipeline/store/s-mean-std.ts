/**
 * `S_mean_std`, the StyleCLIP reference's channel statistics file: a pickle of `[m, std]`, two
 * lists with one float32 NumPy array [C_l] per style layer (all layers, toRGB included, in
 * synthesis order), as its GetCode.py writes with `pickle.dump([m, std], fp)` and its
 * manipulate.py (`m, std = pickle.load(fp)`) and HyperStyle (`_, s_std = pickle.load(fp)`) read.
 *
 * Written here with the opcodes pickle protocol 3 uses for such a value: each array is
 * `numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b'b')` plus a BUILD with
 * `(1, (C,), dtype('f4') with byte order '<', False, raw bytes)`, which is how NumPy pickles an
 * array. Pure: values in, bytes out. Reading goes through the safe checkpoint reader.
 */
import { fail } from '../core/errors.ts';

const utf8 = new TextEncoder();

class PickleWriter {
  private parts: Uint8Array[] = [];
  private size = 0;
  bytes(b: ArrayLike<number>): this {
    const u = Uint8Array.from(b as ArrayLike<number>);
    this.parts.push(u);
    this.size += u.length;
    return this;
  }
  op(c: string): this {
    return this.bytes([c.charCodeAt(0)]);
  }
  global(module: string, name: string): this {
    return this.op('c').bytes(utf8.encode(`${module}\n${name}\n`));
  }
  int(v: number): this {
    if (v >= 0 && v < 256) return this.op('K').bytes([v]);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    return this.op('J').bytes(b);
  }
  str(s: string): this {
    const b = utf8.encode(s);
    if (b.length > 255) fail('E_INPUT', 'pickle: string too long for SHORT_BINUNICODE');
    return this.op('\x8c').bytes([b.length]).bytes(b);
  }
  binbytes(data: Uint8Array): this {
    if (data.length < 256) return this.op('C').bytes([data.length]).bytes(data);
    const n = new Uint8Array(4);
    new DataView(n.buffer).setUint32(0, data.length, true);
    return this.op('B').bytes(n).bytes(data);
  }
  /** A C-order float32 array [n], little-endian, as NumPy pickles it. */
  float32Array(values: Float32Array): this {
    this.global('numpy.core.multiarray', '_reconstruct').global('numpy', 'ndarray').int(0).op('\x85').binbytes(Uint8Array.of(0x62)).op('\x87').op('R');
    this.op('(').int(1).int(values.length).op('\x85');
    this.global('numpy', 'dtype').str('f4').op('\x89').op('\x88').op('\x87').op('R');
    this.op('(').int(3).str('<').op('N').op('N').op('N').int(-1).int(-1).int(0).op('t').op('b');
    const raw = new Uint8Array(values.length * 4);
    const view = new DataView(raw.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return this.op('\x89').binbytes(raw).op('t').op('b');
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** `[m, std]` with one float32 array per layer: mu[l] and std[l] have the layer's channel count. */
export function encodeSMeanStd(mu: readonly Float32Array[], std: readonly Float32Array[]): Uint8Array {
  if (mu.length !== std.length || mu.some((m, l) => m.length !== std[l].length)) {
    fail('E_SHAPE', 'S_mean_std: the mean and std lists must have the same layers and channel counts');
  }
  const w = new PickleWriter().bytes([0x80, 3]).op(']').op('(');
  for (const list of [mu, std]) {
    w.op(']').op('(');
    for (const a of list) w.float32Array(a);
    w.op('e');
  }
  return w.op('e').op('.').finish();
}
