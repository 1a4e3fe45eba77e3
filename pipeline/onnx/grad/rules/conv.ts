/**
 * Conv and ConvTranspose (explicit pads; any spatial rank). ConvTranspose is the adjoint of Conv
 * with the same weight, strides, pads, dilations and groups, so each one's input cotangent is the
 * other; output_padding recovers the input size a strided Conv rounded away. A weight's cotangent
 * (ungrouped only) is a correlation of the input with the output cotangent, written as one Conv
 * with batch and channel axes swapped and the roles of stride and dilation exchanged.
 */
import { fail } from '../../../core/errors.ts';
import { type Attr, attr } from '../../graph.ts';
import type { Backward } from '../backward.ts';
import type { NodeView } from '../model.ts';
import { type OpRule, input, inputShape, where } from '../rule.ts';
import type { Meta } from '../shapes.ts';

interface ConvGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** begin pads then end pads, as ONNX writes them */
  pads: number[];
  group: number;
  outputPadding: number[];
}

function geometry(n: NodeView, wShape: readonly (number | string)[], label: string): ConvGeometry {
  const autoPad = n.attrs.string('auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET') fail('E_GRAD', `${where(n, label)}: auto_pad ${autoPad} is not supported (explicit pads only)`);
  if (n.attrs.has('output_shape')) fail('E_GRAD', `${where(n, label)}: output_shape is not supported (output_padding only)`);
  const r = wShape.length - 2;
  const kernel = n.attrs.ints('kernel_shape') ?? wShape.slice(2).map(Number);
  if (kernel.some((k) => !Number.isInteger(k))) fail('E_GRAD', `${where(n, label)}: the kernel size is unknown`);
  const ones = Array.from({ length: r }, () => 1);
  return {
    kernel,
    strides: n.attrs.ints('strides') ?? ones,
    dilations: n.attrs.ints('dilations') ?? ones,
    pads: n.attrs.ints('pads') ?? Array.from({ length: 2 * r }, () => 0),
    group: n.attrs.int('group', 1),
    outputPadding: n.attrs.ints('output_padding') ?? ones.map(() => 0),
  };
}

function convSize(size: number | string, i: number, c: ConvGeometry, r: number): number | string {
  if (typeof size !== 'number') return `${size}_conv`;
  return Math.floor((size + c.pads[i] + c.pads[i + r] - c.dilations[i] * (c.kernel[i] - 1) - 1) / c.strides[i]) + 1;
}

function transposedSize(size: number | string, i: number, c: ConvGeometry, r: number): number | string {
  if (typeof size !== 'number') return `${size}_convtranspose`;
  return c.strides[i] * (size - 1) + c.outputPadding[i] + c.dilations[i] * (c.kernel[i] - 1) + 1 - c.pads[i] - c.pads[i + r];
}

function geometryAttrs(c: ConvGeometry): Record<string, Attr> {
  return { strides: attr.ints(c.strides), pads: attr.ints(c.pads), dilations: attr.ints(c.dilations), group: attr.i(c.group) };
}

/** [N, C, ...] <-> [C, N, ...] */
function swapBatchChannels(b: Backward, v: string, rank: number): string {
  return b.op('Transpose', [v], { perm: attr.ints([1, 0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)]) });
}

/**
 * Σ over batch and positions of `input`[b, c, y·s + u·d − p] · `cot`[b, m, y]: a [M, C, k…]
 * weight-shaped correlation, as Conv(inputᵀ, cotᵀ) with stride d and dilation s, cropped to k.
 */
function weightCorrelation(b: Backward, input: string, cot: string, c: ConvGeometry, rank: number): string {
  const full = b.op('Conv', [swapBatchChannels(b, input, rank), swapBatchChannels(b, cot, rank)], {
    strides: attr.ints(c.dilations),
    dilations: attr.ints(c.strides),
    pads: attr.ints(c.pads),
  }); // [C, M, k'…] with k' ≥ k
  const axes = c.kernel.map((_, i) => i + 2);
  const cropped = b.op('Slice', [full, b.i64(c.kernel.map(() => 0)), b.i64(c.kernel), b.i64(axes)]);
  return swapBatchChannels(b, cropped, rank); // [M, C, k…]
}

function biasCotangent(b: Backward, dy: string, rank: number): string {
  return b.op('ReduceSum', [dy, b.i64([0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)])], { keepdims: attr.i(0) });
}

/** A value's shape whose spatial sizes (all but batch and channels) must be fixed. */
function spatial(b: Backward, n: NodeView, v: string): number[] {
  const s = b.shape(v, n);
  if (s.slice(2).some((d) => typeof d !== 'number')) b.fail(n, `the gradient needs fixed spatial sizes for ${v}, found [${s.join(', ')}]`);
  return s.map((d) => (typeof d === 'number' ? d : -1));
}

function inferConv(transposed: boolean): OpRule['infer'] {
  return (n, ins, label): Meta[] => {
    const x = inputShape(n, ins, 0, label);
    const w = inputShape(n, ins, 1, label);
    const c = geometry(n, w, label);
    const r = w.length - 2;
    const channels = transposed ? (typeof w[1] === 'number' ? w[1] * c.group : w[1]) : w[0];
    const spatial = x.slice(2).map((s, i) => (transposed ? transposedSize(s, i, c, r) : convSize(s, i, c, r)));
    return [{ dtype: input(n, ins, 0, label).dtype, shape: [x[0], channels, ...spatial] }];
  };
}

export const CONV_RULES: Record<string, OpRule> = {
  Conv: {
    infer: inferConv(false),
    vjp(b, n, [dy], need) {
      const [x, w] = n.inputs;
      const c = geometry(n, b.shape(w, n), b.label);
      const xShape = spatial(b, n, x);
      const yShape = spatial(b, n, n.outputs[0]);
      const r = xShape.length - 2;
      const out: (string | undefined)[] = [undefined, undefined, undefined];
      if (need[0]) {
        // The sizes a strided Conv rounded away come back as output_padding.
        const outputPadding = xShape.slice(2).map((h, i) => h - (c.strides[i] * (yShape[i + 2] - 1) + c.dilations[i] * (c.kernel[i] - 1) + 1 - c.pads[i] - c.pads[i + r]));
        out[0] = b.op('ConvTranspose', [dy!, w], { ...geometryAttrs(c), kernel_shape: attr.ints(c.kernel), output_padding: attr.ints(outputPadding) });
      }
      if (need[1]) {
        if (c.group !== 1) b.fail(n, 'the gradient with respect to the weight of a grouped convolution is not supported');
        out[1] = weightCorrelation(b, x, dy!, c, xShape.length); // [Cout, Cin, k…]
      }
      if (need[2]) out[2] = biasCotangent(b, dy!, xShape.length);
      return out;
    },
  },
  ConvTranspose: {
    infer: inferConv(true),
    vjp(b, n, [dy], need) {
      const [x, w] = n.inputs;
      const c = geometry(n, b.shape(w, n), b.label);
      const rank = b.shape(x, n).length;
      const out: (string | undefined)[] = [undefined, undefined, undefined];
      if (need[0]) out[0] = b.op('Conv', [dy!, w], { ...geometryAttrs(c), kernel_shape: attr.ints(c.kernel) });
      if (need[1]) {
        if (c.group !== 1) b.fail(n, 'the gradient with respect to the weight of a grouped transposed convolution is not supported');
        out[1] = weightCorrelation(b, dy!, x, c, rank); // [Cin, Cout, k…]
      }
      if (need[2]) out[2] = biasCotangent(b, dy!, rank);
      return out;
    },
  },
};
