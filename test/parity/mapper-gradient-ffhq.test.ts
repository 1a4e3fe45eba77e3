/**
 * The latent mapper's gradient against PyTorch autograd at full width: StyleGAN2 with the FFHQ widths
 * (config F, w 512, 8 mapping layers) at 256 px (14 ws: all three mapper groups, 3 × 4 × 512² weights)
 * and CLIP with the exact ViT-B/32 shapes. Minutes and several GiB: run it under
 * `flock /work/heavy.lock` on shared machines.
 */
import { mapperGradientParitySuite } from '../fixtures/parity/mapper-gradient.ts';

mapperGradientParitySuite({
  title: 'FFHQ widths (256 px) + ViT-B/32',
  generatorOptions: ['--resolution', '256'],
  clipOptions: [],
});
