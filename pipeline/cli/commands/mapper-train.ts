import { resolve } from 'node:path';
import { fail } from '../../core/errors.ts';
import { Encoder } from '../../models/encoder.ts';
import { Generator } from '../../models/generator.ts';
import { Identity } from '../../models/identity.ts';
import { CodeSet, checkDisjointSeeds } from '../../stages/mapper-codes.ts';
import { runMapperTraining } from '../../stages/mapper-run.ts';
import { MAPPER_DEFAULTS, checkMapperSettings } from '../../stages/mapper-train.ts';
import { flag, int, num, parseIntList, requireStr, str } from '../args.ts';
import { defineCommand } from '../command.ts';
import { formatDuration, progressPrinter } from '../progress.ts';
import { runtimeOptionHelp, runtimeOptionSpec, runtimeOptions } from '../runtime-options.ts';

const D = MAPPER_DEFAULTS;

export default defineCommand({
  path: ['mapper', 'train'],
  summary: 'StyleCLIP method 2: train a latent mapper for one text prompt (w′ = w + 0.1·M_t(w))',
  usage: '--generator DIR --encoder DIR --target TEXT --out DIR [--steps N] [--train-seeds A-B | --codes FILE --test-codes FILE] [--resume]',
  details: `Trains the official LevelsMapper (three mappers for the coarse, medium and fine ws, each
PixelNorm + 4 equalised-lr linear layers with leaky ReLU) so that w′ = w + 0.1·M_t(w) renders the
target text, minimising mean_b D_CLIP(G(w′), t) + λ_L2·MSE(w′, w) + λ_ID·L_ID with Adam, on gradients
StyleAtlas computes through the generator and CLIP (D_CLIP = 1 − cos, CLIP preprocessing as in
the relevance builds). Defaults are the official mapper/ trainer's, with Adam as its optimiser.

  --generator DIR       generator bundle (e.g. models/tiny)
  --encoder DIR         encoder bundle (e.g. models/colour-world)
  --target TEXT         the text to move towards, e.g. "a blue photo" (at most 77 tokens)
  --out DIR             the run's folder: new or empty, or one to --resume
  --steps N             training steps (default ${D.steps})
  --lr X                Adam's learning rate (default ${D.lr})
  --batch N             codes per step (default ${D.batch})
  --lambda-l2 X         weight of MSE(w′, w) = 0.01·mean(M_t(w)²) (default ${D.lambdaL2})
  --seed N              seeds the initial weights and the order of batches (default ${D.seed})
  --train-seeds LIST    train on these seeded samples (default ${D.trainSeeds})
  --test-seeds LIST     score on these held-out seeded samples (default ${D.testSeeds})
  --psi X               truncation ψ of seeded samples (default ${D.psi})
  --codes FILE          or train on your own W+ codes (.npy [K, num_ws, w_dim] or [K, w_dim], or an
                        e4e / pSp latents.pt), with --test-codes FILE as the held-out ones
  --checkpoint-every K  write checkpoint.npz every K steps (default ${D.checkpointEvery})
  --resume              continue the run in --out from its checkpoint (same options; --steps may
                        grow): the weights equal an uninterrupted run's, bit for bit
  --identity DIR        identity bundle (IR-SE50 ArcFace, e.g. from \`import arcface\`) for the identity
                        loss 1 − ⟨R(G(w′)), R(G(w))⟩ (faces)
  --lambda-id X         its weight (default ${D.lambdaId} with --identity, as the official trainer; 0 without)
  --quiet               no progress output
${runtimeOptionHelp}

Writes mapper.safetensors (official parameter names), mapper.onnx, loss.json, scores.json
(held-out CLIP score before/after, ‖w′ − w‖, pixel facts), heldout.png, provenance.json,
run.json, and keeps checkpoint.npz.`,
  options: {
    generator: { type: 'string' }, encoder: { type: 'string' }, target: { type: 'string' }, out: { type: 'string' },
    steps: { type: 'string' }, lr: { type: 'string' }, batch: { type: 'string' }, 'lambda-l2': { type: 'string' }, seed: { type: 'string' },
    'train-seeds': { type: 'string' }, 'test-seeds': { type: 'string' }, psi: { type: 'string' }, codes: { type: 'string' }, 'test-codes': { type: 'string' },
    'checkpoint-every': { type: 'string' }, resume: { type: 'boolean' }, 'lambda-id': { type: 'string' }, identity: { type: 'string' },
    quiet: { type: 'boolean' },
    ...runtimeOptionSpec,
  },
  async run({ values, io }) {
    const outDir = resolve(io.cwd, requireStr(values, 'out'));
    const target = str(values, 'target');
    if (target === undefined) fail('E_USAGE', '--target is required', 'e.g. --target "a blue photo"');
    const identityDir = str(values, 'identity');
    const codesPath = str(values, 'codes');
    const testCodesPath = str(values, 'test-codes');
    if (codesPath && (str(values, 'train-seeds') || str(values, 'test-seeds'))) fail('E_USAGE', 'give --codes/--test-codes or --train-seeds/--test-seeds, not both');
    if (Boolean(codesPath) !== Boolean(testCodesPath)) fail('E_USAGE', '--codes and --test-codes go together: the held-out codes score the mapper');
    const settings = {
      target,
      steps: int(values, 'steps', D.steps),
      lr: num(values, 'lr', D.lr),
      batch: int(values, 'batch', D.batch),
      lambdaL2: num(values, 'lambda-l2', D.lambdaL2),
      seed: int(values, 'seed', D.seed),
      // The official λ_ID 0.1 where an identity network is given; without one the term is off.
      lambdaId: num(values, 'lambda-id', identityDir ? D.lambdaId : 0),
    };
    checkMapperSettings(settings);
    const checkpointEvery = int(values, 'checkpoint-every', D.checkpointEvery, [1, Number.MAX_SAFE_INTEGER]);
    const psi = num(values, 'psi', D.psi, [0, 1]);
    const trainSeeds = parseIntList(str(values, 'train-seeds') ?? D.trainSeeds, '--train-seeds');
    const testSeeds = parseIntList(str(values, 'test-seeds') ?? D.testSeeds, '--test-seeds');
    if (!codesPath) checkDisjointSeeds(trainSeeds, testSeeds);
    const runtime = runtimeOptions(values);
    const quiet = flag(values, 'quiet');
    const identity = identityDir && settings.lambdaId > 0 ? Identity.open(resolve(io.cwd, identityDir)) : undefined;
    const gen = await Generator.open(requireStr(values, 'generator'), runtime);
    const enc = await Encoder.open(requireStr(values, 'encoder'), { ...runtime, parts: ['text'] });
    try {
      const train = codesPath ? CodeSet.fromFile(resolve(io.cwd, codesPath), gen) : await CodeSet.fromSeeds(gen, trainSeeds, psi);
      const test = testCodesPath ? CodeSet.fromFile(resolve(io.cwd, testCodesPath), gen) : await CodeSet.fromSeeds(gen, testSeeds, psi);
      const printer = progressPrinter(io, { quiet });
      io.err(identity ? `mapper: identity loss on (λ_ID ${settings.lambdaId}, ${identity.manifest.id})` : `mapper: identity loss off (λ_ID = 0${identityDir ? `: ${identityDir} is not used` : ', no --identity bundle'})`);
      const r = await runMapperTraining({
        gen, enc, runtime, identity, outDir, resume: flag(values, 'resume'), settings, checkpointEvery, train, test,
        log: quiet ? undefined : (m) => io.err(m), onProgress: printer.onProgress,
      });
      printer.finish();
      const m = r.scores.mean;
      io.err(`mapper: ${r.stepsRun} steps in ${formatDuration(r.seconds)}; held-out CLIP score ${m.scoreBefore.toFixed(4)} → ${m.scoreAfter.toFixed(4)} (${(100 * r.scores.improved).toFixed(0)} % of ${r.scores.count} codes rose), ‖w′ − w‖ ${m.stepNorm.toFixed(3)}`);
      io.out(r.files.weights);
    } finally {
      await enc.release();
      await gen.release();
    }
  },
});
