/**
 * Operators that move values without arithmetic: reshapes, transposes, concatenation and
 * splitting, slicing and padding, gathering with constant indices, broadcasting, and the sub-pixel
 * shuffles (DepthToSpace / SpaceToDepth). Each cotangent is the inverse movement of dy, with zeros
 * where nothing was read.
 */
import { fail } from '../../../core/errors.ts';
import { type Dim, attr } from '../../graph.ts';
import type { Backward } from '../backward.ts';
import type { NodeView } from '../model.ts';
import { type OpRule, input, where } from '../rule.ts';
import { type Meta, broadcast, divDim, mulDims, normAxis } from '../shapes.ts';
import { SHUFFLE_RULES } from './shuffle.ts';
import { VALUE_RULES } from './values.ts';

const reshapeBack: OpRule['vjp'] = (b, n, [dy]) => [b.reshapeLike(dy!, n.inputs[0], n), ...n.inputs.slice(1).map(() => undefined)];

function constValues(n: NodeView, ins: readonly (Meta | undefined)[], i: number, label: string, what: string): Dim[] {
  const v = ins[i]?.value;
  if (!v) fail('E_GRAD', `${where(n, label)}: ${what} (${n.inputs[i]}) must be a constant`);
  return v;
}

function constInts(n: NodeView, ins: readonly (Meta | undefined)[], i: number, label: string, what: string): number[] {
  const v = constValues(n, ins, i, label, what);
  if (v.some((x) => typeof x !== 'number')) fail('E_GRAD', `${where(n, label)}: ${what} must be fixed numbers, found [${v.join(', ')}]`);
  return v as number[];
}

function reshapeTo(n: NodeView, x: Meta, target: Dim[], label: string): Dim[] | undefined {
  if (!x.shape) return undefined;
  const out = target.map((d, i) => (d === 0 && n.attrs.int('allowzero', 0) === 0 ? x.shape![i] : d));
  const free = out.indexOf(-1);
  if (free >= 0) {
    const rest = mulDims(out.filter((_, i) => i !== free));
    const d = divDim(mulDims(x.shape), rest);
    if (d === undefined) fail('E_GRAD', `${where(n, label)}: cannot infer the -1 of [${target.join(', ')}] from [${x.shape.join(', ')}]`);
    out[free] = d;
  }
  return out;
}

/** Normalised [start, end) of a Slice on a dimension of size `size` (step 1). */
function sliceRange(start: number, end: number, size: number): [number, number] {
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  const s = clamp(start);
  return [s, Math.max(clamp(end), s)];
}

interface SliceSpec {
  axes: number[];
  starts: number[];
  ends: number[];
}

function sliceSpec(n: NodeView, ins: readonly (Meta | undefined)[], rank: number, label: string): SliceSpec {
  const starts = constInts(n, ins, 1, label, 'starts');
  const ends = constInts(n, ins, 2, label, 'ends');
  const axes = n.inputs[3] ? constInts(n, ins, 3, label, 'axes').map((a) => normAxis(a, rank, where(n, label))) : starts.map((_, i) => i);
  const steps = n.inputs[4] ? constInts(n, ins, 4, label, 'steps') : starts.map(() => 1);
  if (steps.some((s) => s !== 1)) fail('E_GRAD', `${where(n, label)}: Slice with steps other than 1 is not supported`);
  return { axes, starts, ends };
}

function concatDims(dims: readonly Dim[]): Dim | string {
  return dims.every((d) => typeof d === 'number') ? (dims as number[]).reduce((a, c) => a + c, 0) : dims.join('+');
}

export const LAYOUT_RULES: Record<string, OpRule> = {
  ...SHUFFLE_RULES,
  ...VALUE_RULES,
  Reshape: {
    infer(n, ins, label) {
      const x = input(n, ins, 0, label);
      return [{ dtype: x.dtype, shape: reshapeTo(n, x, constValues(n, ins, 1, label, 'the target shape'), label), value: x.value }];
    },
    vjp: reshapeBack,
  },
  Flatten: {
    infer(n, ins, label) {
      const x = input(n, ins, 0, label);
      if (!x.shape) return [{ dtype: x.dtype }];
      const axis = n.attrs.int('axis', 1);
      const a = axis < 0 ? axis + x.shape.length : axis;
      return [{ dtype: x.dtype, shape: [mulDims(x.shape.slice(0, a)), mulDims(x.shape.slice(a))] }];
    },
    vjp: reshapeBack,
  },
  Squeeze: {
    infer(n, ins, label) {
      const x = input(n, ins, 0, label);
      if (!x.shape) return [{ dtype: x.dtype }];
      const axes = n.inputs[1] ? constInts(n, ins, 1, label, 'axes').map((a) => normAxis(a, x.shape!.length, where(n, label))) : undefined;
      return [{ dtype: x.dtype, shape: x.shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)), value: x.value }];
    },
    vjp: reshapeBack,
  },
  Unsqueeze: {
    infer(n, ins, label) {
      const x = input(n, ins, 0, label);
      if (!x.shape) return [{ dtype: x.dtype }];
      const raw = constInts(n, ins, 1, label, 'axes');
      const rank = x.shape.length + raw.length;
      const axes = raw.map((a) => normAxis(a, rank, where(n, label)));
      const rest = [...x.shape];
      const shape = Array.from({ length: rank }, (_, i) => (axes.includes(i) ? 1 : rest.shift()!));
      return [{ dtype: x.dtype, shape, value: x.value }];
    },
    vjp: reshapeBack,
  },
  Transpose: {
    infer(n, ins, label) {
      const x = input(n, ins, 0, label);
      if (!x.shape) return [{ dtype: x.dtype }];
      const perm = n.attrs.ints('perm') ?? x.shape.map((_, i) => x.shape!.length - 1 - i);
      return [{ dtype: x.dtype, shape: perm.map((p) => x.shape![p]) }];
    },
    vjp(b, n, [dy]) {
      const rank = b.shape(n.inputs[0], n).length;
      const perm = n.attrs.ints('perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
      const inverse = new Array<number>(rank);
      perm.forEach((p, i) => (inverse[p] = i));
      return [b.op('Transpose', [dy!], { perm: attr.ints(inverse) })];
    },
  },
  Concat: {
    infer(n, ins, label) {
      const first = input(n, ins, 0, label);
      const shapes = n.inputs.map((_, i) => ins[i]?.shape);
      const values = n.inputs.map((_, i) => ins[i]?.value);
      const value = values.every(Boolean) ? values.flatMap((v) => v!) : undefined;
      if (shapes.some((s) => !s)) return [{ dtype: first.dtype, value }];
      const axis = normAxis(n.attrs.int('axis', 0), shapes[0]!.length, where(n, label));
      const shape = shapes[0]!.map((d, i) => (i === axis ? concatDims(shapes.map((s) => s![i])) : d));
      return [{ dtype: first.dtype, shape, value }];
    },
    vjp(b, n, [dy], need) {
      const rank = b.shape(n.inputs[0], n).length;
      const axis = normAxis(n.attrs.int('axis', 0), rank, b.label);
      const sizes = n.inputs.map((x) => b.shape(x, n)[axis]);
      if (sizes.some((s) => typeof s !== 'number')) b.fail(n, `the concatenated sizes along axis ${axis} must be fixed, found [${sizes.join(', ')}]`);
      if (n.inputs.length === 1) return [dy];
      const parts = b.nodeOut('Split', [dy!, b.i64(sizes as number[])], { axis: attr.i(axis) }, n.inputs.length);
      return parts.map((p, i) => (need[i] ? p : undefined));
    },
  },
  Split: {
    infer(n, ins, label) {
      const x = input(n, ins, 0, label);
      const count = n.outputs.length;
      if (!x.shape) return n.outputs.map(() => ({ dtype: x.dtype }));
      const axis = normAxis(n.attrs.int('axis', 0), x.shape.length, where(n, label));
      let sizes: Dim[];
      if (n.inputs[1]) sizes = constInts(n, ins, 1, label, 'split sizes');
      else {
        const each = divDim(x.shape[axis], count);
        if (each === undefined) fail('E_GRAD', `${where(n, label)}: ${x.shape[axis]} does not split evenly into ${count}`);
        sizes = n.outputs.map(() => each);
      }
      return sizes.map((s) => ({ dtype: x.dtype, shape: x.shape!.map((d, i) => (i === axis ? s : d)) }));
    },
    vjp(b, n, dys) {
      const rank = b.shape(n.inputs[0], n).length;
      const axis = normAxis(n.attrs.int('axis', 0), rank, b.label);
      const parts = dys.map((d, k) => d ?? b.zerosLike(n.outputs[k]));
      return [b.op('Concat', parts, { axis: attr.i(axis) }), undefined];
    },
  },
  Slice: {
    infer(n, ins, label) {
      const x = input(n, ins, 0, label);
      if (!x.shape) return [{ dtype: x.dtype }];
      const spec = sliceSpec(n, ins, x.shape.length, label);
      const shape = [...x.shape];
      spec.axes.forEach((a, k) => {
        const size = shape[a];
        if (typeof size !== 'number') fail('E_GRAD', `${where(n, label)}: slicing axis ${a} of unknown size ${size}`);
        const [s, e] = sliceRange(spec.starts[k], spec.ends[k], size);
        shape[a] = e - s;
      });
      let value: Dim[] | undefined;
      if (x.value && x.shape.length === 1) {
        const [s, e] = sliceRange(spec.starts[0], spec.ends[0], x.value.length);
        value = x.value.slice(s, e);
      }
      return [{ dtype: x.dtype, shape, value }];
    },
    vjp(b, n, [dy]) {
      const x = n.inputs[0];
      const shape = b.shape(x, n);
      const ins = n.inputs.map((v) => (v ? b.meta(v) : undefined));
      const spec = sliceSpec(n, ins, shape.length, b.label);
      const pads = new Array<number>(2 * shape.length).fill(0);
      spec.axes.forEach((a, k) => {
        const [s, e] = sliceRange(spec.starts[k], spec.ends[k], shape[a] as number);
        pads[a] = s;
        pads[a + shape.length] = (shape[a] as number) - e;
      });
      return [b.op('Pad', [dy!, b.i64(pads)]), undefined, undefined, undefined, undefined];
    },
  },
  Pad: {
    infer(n, ins, label) {
      const x = input(n, ins, 0, label);
      if (!x.shape) return [{ dtype: x.dtype }];
      if (n.inputs[3]) fail('E_GRAD', `${where(n, label)}: Pad with an axes input is not supported`);
      const pads = constInts(n, ins, 1, label, 'pads');
      const r = x.shape.length;
      const shape = x.shape.map((d, i) => (pads[i] === 0 && pads[i + r] === 0 ? d : typeof d === 'number' ? d + pads[i] + pads[i + r] : fail('E_GRAD', `${where(n, label)}: padding axis ${i} of unknown size`)));
      return [{ dtype: x.dtype, shape }];
    },
    vjp(b, n, [dy], need) {
      if (n.attrs.string('mode', 'constant') !== 'constant') b.fail(n, `only constant padding can be differentiated, not ${n.attrs.string('mode', '')}`);
      if (need[2]) b.fail(n, 'the gradient with respect to the padding value is not supported');
      const x = n.inputs[0];
      const shape = b.shape(x, n);
      const pads = b.ints(n.inputs[1], n, 'pads');
      if (pads.some((p) => p < 0)) b.fail(n, 'negative pads (cropping) are not supported');
      const axes = shape.map((_, i) => i).filter((i) => pads[i] !== 0 || pads[i + shape.length] !== 0);
      if (axes.length === 0) return [dy, undefined, undefined];
      const ends = axes.map((a) => {
        const d = shape[a];
        return typeof d === 'number' ? pads[a] + d : b.fail(n, `axis ${a} has unknown size ${d}`);
      });
      return [b.op('Slice', [dy!, b.i64(axes.map((a) => pads[a])), b.i64(ends), b.i64(axes)]), undefined, undefined];
    },
  },
  Expand: {
    infer(n, ins, label) {
      const x = input(n, ins, 0, label);
      const target = constValues(n, ins, 1, label, 'the target shape');
      return [{ dtype: x.dtype, shape: x.shape ? broadcast(x.shape, target, where(n, label)) : undefined }];
    },
    vjp: (b, n, [dy]) => [b.unbroadcast(dy!, b.shape(n.outputs[0], n), n.inputs[0], n), undefined],
  },
};
