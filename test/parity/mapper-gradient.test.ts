/**
 * The latent mapper's gradient (with respect to its weights) against PyTorch autograd on a small
 * generator and CLIP (seconds): StyleGAN2 64 px (10 ws, so all three mapper groups), widths 64,
 * w 64; CLIP ViT 32 px / patch 8, width 128 × 2 layers. FFHQ widths and ViT-B/32:
 * mapper-gradient-ffhq.test.ts.
 */
import { mapperGradientParitySuite } from '../fixtures/parity/mapper-gradient.ts';

mapperGradientParitySuite({
  title: 'small StyleGAN2 + CLIP',
  generatorOptions: ['--resolution', '64', '--channel-max', '64', '--style-dim', '64', '--n-mlp', '2'],
  clipOptions: ['--vision-width', '128', '--vision-layers', '2', '--patch', '8', '--image', '32', '--text-width', '64', '--text-layers', '1', '--embed', '64', '--merges', '2000'],
});
