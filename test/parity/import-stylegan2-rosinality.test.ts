/**
 * rosinality/stylegan2-pytorch importer against a PyTorch generator with rosinality's names, at the
 * full FFHQ-1024 shapes (config F, channel_multiplier 2): ~25 s of PyTorch, ~5 s of import and onnxruntime.
 *
 * The checkpoint is {'g_ema', 'latent_avg'} as torch.save writes it, except that the state dict is a
 * plain OrderedDict copy: the checkpoint reader does not yet accept the `_metadata` attribute that
 * module.state_dict() carries (see "real state_dict() files" in import-cli.test.ts).
 */
import { describe } from 'vitest';
import { stylegan2ParitySuite } from '../fixtures/parity/stylegan2-parity.ts';

describe('import stylegan2: rosinality checkpoint, FFHQ-1024 shapes', () => {
  stylegan2ParitySuite({
    format: 'rosinality',
    script: 'stylegan2_rosinality.py',
    options: ['--resolution', '1024', '--batch', '2'],
    file: 'checkpoint.pt',
    wAvgNote: 'w_avg from latent_avg',
  });
});
