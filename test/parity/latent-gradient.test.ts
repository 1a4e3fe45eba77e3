/**
 * Method 1's gradient against PyTorch autograd on a small generator and CLIP (seconds): StyleGAN2
 * 32 px, widths 64, w 64; CLIP ViT 32 px / patch 8, width 128 × 2 layers. The full-size comparison
 * (FFHQ widths, ViT-B/32) is latent-gradient-ffhq.test.ts.
 */
import { latentGradientParitySuite } from '../fixtures/parity/latent-gradient.ts';

latentGradientParitySuite({
  title: 'small StyleGAN2 + CLIP',
  generatorOptions: ['--resolution', '32', '--channel-max', '64', '--style-dim', '64', '--n-mlp', '2'],
  clipOptions: ['--vision-width', '128', '--vision-layers', '2', '--patch', '8', '--image', '32', '--text-width', '64', '--text-layers', '1', '--embed', '64', '--merges', '2000'],
});
