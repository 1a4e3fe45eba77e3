/**
 * Method 1's gradient against PyTorch autograd at full size: StyleGAN2 with the FFHQ widths
 * (config F, channel multiplier 2, w 512, 8 mapping layers) at 256 px — every layer width of
 * FFHQ-1024 up to 256² — and CLIP with the exact ViT-B/32 shapes. ~2.5 min, ~4 GiB of memory:
 * run it under `flock /work/heavy.lock` on shared machines.
 */
import { latentGradientParitySuite } from '../fixtures/parity/latent-gradient.ts';

latentGradientParitySuite({
  title: 'FFHQ widths (256 px) + ViT-B/32',
  generatorOptions: ['--resolution', '256'],
  clipOptions: [],
});
