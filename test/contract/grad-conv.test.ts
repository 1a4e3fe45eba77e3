/**
 * Finite-difference checks of Conv and ConvTranspose (rules/conv.ts) in the configurations the
 * StyleGAN2, CLIP, colour-world and IR-SE graphs use. onnxruntime has these kernels in float32
 * only; both are linear in each input, so central differences are exact up to rounding.
 */
import { attr } from '../../pipeline/onnx/graph.ts';
import { type GradCase, gradientSuite } from '../helpers/grad-check.ts';

const CASES: GradCase[] = [
  {
    name: 'Conv 3×3, pads 1, with bias (styled conv)',
    dtype: 'float32',
    inputs: [{ name: 'x', shape: [2, 3, 5, 5], batch: true }, { name: 'w', shape: [4, 3, 3, 3] }, { name: 'bias', shape: [4] }],
    forward: (g, v) => g.op('Conv', [v.x, v.w, v.bias], { pads: attr.ints([1, 1, 1, 1]) }),
  },
  {
    name: 'Conv 3×3, stride 2, odd size, pads 1 (IR-SE downsampling)',
    dtype: 'float32',
    inputs: [{ name: 'x', shape: [2, 3, 7, 6] }, { name: 'w', shape: [2, 3, 3, 3] }],
    forward: (g, v) => g.op('Conv', [v.x, v.w], { pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 2]) }),
  },
  {
    name: 'Conv 4×4 depthwise, pads 1 (blur)',
    dtype: 'float32',
    inputs: [{ name: 'x', shape: [2, 3, 6, 6], batch: true }, { name: 'w', shape: [3, 1, 4, 4], wrt: false }],
    forward: (g, v) => g.op('Conv', [v.x, v.w], { group: attr.i(3), pads: attr.ints([1, 1, 1, 1]) }),
  },
  {
    name: 'Conv patch embedding (kernel = stride = 4)',
    dtype: 'float32',
    inputs: [{ name: 'x', shape: [2, 3, 8, 8] }, { name: 'w', shape: [5, 3, 4, 4] }],
    forward: (g, v) => g.op('Conv', [v.x, v.w], { kernel_shape: attr.ints([4, 4]), strides: attr.ints([4, 4]) }),
  },
  {
    name: 'Conv 1×1 (toRGB, luma)',
    dtype: 'float32',
    inputs: [{ name: 'x', shape: [2, 4, 3, 3] }, { name: 'w', shape: [3, 4, 1, 1] }],
    forward: (g, v) => g.op('Conv', [v.x, v.w]),
  },
  {
    name: 'Conv 3×3, dilation 2, asymmetric pads',
    dtype: 'float32',
    inputs: [{ name: 'x', shape: [1, 2, 7, 7] }, { name: 'w', shape: [2, 2, 3, 3] }],
    forward: (g, v) => g.op('Conv', [v.x, v.w], { dilations: attr.ints([2, 2]), pads: attr.ints([2, 1, 0, 2]) }),
  },
  {
    name: 'Conv 1×1 depthwise stride 2, weight 1 (strided pick)',
    dtype: 'float32',
    inputs: [{ name: 'x', shape: [2, 3, 5, 5] }, { name: 'w', shape: [3, 1, 1, 1], values: [1, 1, 1], wrt: false }],
    forward: (g, v) => g.op('Conv', [v.x, v.w], { group: attr.i(3), strides: attr.ints([2, 2]) }),
  },
  {
    name: 'ConvTranspose 3×3 stride 2, no pads (upsampling conv)',
    dtype: 'float32',
    inputs: [{ name: 'x', shape: [2, 3, 4, 4], batch: true }, { name: 'w', shape: [3, 2, 3, 3] }],
    forward: (g, v) => g.op('ConvTranspose', [v.x, v.w], { strides: attr.ints([2, 2]) }),
  },
  {
    name: 'ConvTranspose 4×4 stride 2, pads 1, group 3 (skip upsampling)',
    dtype: 'float32',
    inputs: [{ name: 'x', shape: [2, 3, 4, 4], batch: true }, { name: 'w', shape: [3, 1, 4, 4], wrt: false }],
    forward: (g, v) => g.op('ConvTranspose', [v.x, v.w], { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), group: attr.i(3) }),
  },
  {
    name: 'ConvTranspose 3×3 stride 2, pads 1, output_padding 1, with bias',
    dtype: 'float32',
    inputs: [{ name: 'x', shape: [2, 2, 3, 3] }, { name: 'w', shape: [2, 3, 3, 3] }, { name: 'bias', shape: [3], param: true }],
    forward: (g, v) => g.op('ConvTranspose', [v.x, v.w, v.bias], { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), output_padding: attr.ints([1, 1]) }),
  },
];

gradientSuite('conv', CASES);
