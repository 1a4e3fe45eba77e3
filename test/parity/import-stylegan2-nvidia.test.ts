/**
 * NVIDIA stylegan2-ada-pytorch importer against a PyTorch generator with NVIDIA's names, attributes and
 * conventions (FullyConnectedLayer gains, unscaled modulated-conv weights, toRGB weight_gain,
 * conv2d_resample's transposed up-sampling), pickled as torch_utils.persistence pickles networks, at the
 * full FFHQ-1024 shapes (channel_base 32768, channel_max 512, conv_clamp None as config F):
 * ~25 s of PyTorch, ~5 s of import and onnxruntime.
 */
import { describe } from 'vitest';
import { stylegan2ParitySuite } from '../fixtures/parity/stylegan2-parity.ts';

describe('import stylegan2: NVIDIA network pickle, FFHQ-1024 shapes', () => {
  stylegan2ParitySuite({
    format: 'nvidia',
    script: 'stylegan2_nvidia.py',
    options: ['--resolution', '1024', '--batch', '2'],
    file: 'network.pkl',
    wAvgNote: 'w_avg from mapping.w_avg',
  });
});
