import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fail } from '../../core/errors.ts';
import { Encoder } from '../../models/encoder.ts';
import { Generator } from '../../models/generator.ts';
import { Identity } from '../../models/identity.ts';
import { readLatentCodes } from '../../models/latent-codes.ts';
import { runtimeExecution } from '../../models/runtime.ts';
import { sha256Hex } from '../../models/bundle.ts';

const bundleIdentity = (b: { manifest: { id: string }; manifestSha256: string }) => ({ id: b.manifest.id, manifestSha256: b.manifestSha256 });
import { LatentOptimiser, METHOD1_DEFAULTS, type OptimiseSettings, checkSettings, checkTarget, defaultOptimiseBatch } from '../../stages/optimise.ts';
import { writeOptimiseOutput } from '../../stages/optimise-output.ts';
import { toolProvenance } from '../../store/provenance.ts';
import { flag, int, num, parseIntList, requireStr, str } from '../args.ts';
import { defineCommand } from '../command.ts';
import { progressPrinter } from '../progress.ts';
import { runtimeOptionHelp, runtimeOptionSpec, runtimeOptions } from '../runtime-options.ts';

const D = METHOD1_DEFAULTS;

function checkOut(out: string, force: boolean): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) fail('E_INPUT', `--out ${out} exists and is not a folder`);
  if (readdirSync(out).length > 0 && !force) fail('E_INPUT', `--out ${out} exists and is not empty`, 'choose a new folder, or pass --force to replace it');
}

export default defineCommand({
  path: ['optimise'],
  summary: 'StyleCLIP method 1: optimise w+ codes towards a text (latent optimisation, Eq. 1)',
  usage: '--generator DIR --encoder DIR --target TEXT --out DIR [--seeds 0 | --codes FILE] [--steps 300] [--lr 0.1] [--lambda-l2 0.008]',
  details: `argmin over w ∈ W+ of D_CLIP(G(w), t) + λ_L2 ‖w − w_s‖² + λ_ID L_ID(w), with Adam and the
official run_optimization.py schedule (linear ramp-up over the first 5 % of the steps, half-cosine
ramp-down over the last 25 %), on gradients StyleAtlas computes through its own graphs.
D_CLIP = 1 − cos(E_I(P(G(w))), E_T(target)), with the CLIP preprocessing P of the relevance builds.

  --generator DIR     generator bundle (e.g. models/tiny)
  --encoder DIR       encoder bundle (e.g. models/colour-world)
  --target TEXT       the text to move towards, e.g. "a red photo" (at most 77 tokens)
  --out DIR           output folder (must be new or empty; --force replaces it)
  --seeds LIST        start from seeded samples, truncated with ψ (default 0; e.g. 0-3 for a batch)
  --codes FILE        or from your own W+ codes: a float32 .npy of ws [K, num_ws, w_dim] or
                      w [K, w_dim], or an e4e / pSp / ReStyle latents.pt (read as data)
  --psi X             truncation ψ of seeded starts (default ${D.psi})
  --steps N           Adam steps (default ${D.steps})
  --lr X              initial learning rate (default ${D.lr})
  --lambda-l2 X       weight of ‖w − w_s‖² (default ${D.lambdaL2})
  --lambda-id X       weight of the identity loss (default ${D.lambdaId}: off); needs --identity
  --identity DIR      identity bundle (IR-SE50 ArcFace) for λ_ID > 0
  --batch N           start codes per session run (default: 8 up to 256 px, 2 at 512, 1 at 1024)
  --force             replace a non-empty --out folder
${runtimeOptionHelp}

Writes ws.npy / ws_start.npy (W+), s.npy (S-space), before-K.png / after-K.png / comparison.png,
loss.json / loss.svg (every term per step and sample), provenance.json and run.json.`,
  options: {
    generator: { type: 'string' }, encoder: { type: 'string' }, target: { type: 'string' }, out: { type: 'string' },
    seeds: { type: 'string' }, codes: { type: 'string' }, psi: { type: 'string' }, steps: { type: 'string' },
    lr: { type: 'string' }, 'lambda-l2': { type: 'string' }, 'lambda-id': { type: 'string' }, identity: { type: 'string' },
    batch: { type: 'string' }, force: { type: 'boolean' },
    ...runtimeOptionSpec,
  },
  async run({ values, io }) {
    const out = resolve(io.cwd, requireStr(values, 'out'));
    const target = str(values, 'target');
    if (target === undefined) fail('E_USAGE', '--target is required', 'e.g. --target "a red photo"');
    if (str(values, 'seeds') && str(values, 'codes')) fail('E_USAGE', 'give --seeds or --codes, not both');
    const seeds = parseIntList(str(values, 'seeds') ?? '0', '--seeds');
    const psi = num(values, 'psi', D.psi, [0, 1]);
    const lambdaId = num(values, 'lambda-id', D.lambdaId, [-Infinity, Infinity]);
    const identityDir = str(values, 'identity');
    const settings0 = {
      target,
      steps: int(values, 'steps', D.steps, [-Infinity, Infinity]),
      lr: num(values, 'lr', D.lr, [-Infinity, Infinity]),
      lambdaL2: num(values, 'lambda-l2', D.lambdaL2, [-Infinity, Infinity]),
      lambdaId,
    };
    checkSettings({ ...settings0, batch: 1 }, Boolean(identityDir));
    checkOut(out, flag(values, 'force'));
    // With λ_ID 0 (the official default) the identity term is off and its bundle is not used.
    const identity = identityDir && lambdaId > 0 ? Identity.open(resolve(io.cwd, identityDir)) : undefined;
    const runtime = runtimeOptions(values, io);
    const gen = await Generator.open(requireStr(values, 'generator'), runtime);
    const enc = await Encoder.open(requireStr(values, 'encoder'), runtime);
    let opt: LatentOptimiser | undefined;
    try {
      checkTarget(enc, target);
      const { numWs, wDim, resolution } = gen.manifest.architecture;
      const codesPath = str(values, 'codes');
      const start = codesPath
        ? { ...readLatentCodes(resolve(io.cwd, codesPath), numWs, wDim), source: { kind: 'codes', file: codesPath, sha256: sha256Hex(readFileSync(resolve(io.cwd, codesPath))) } }
        : { ws: await gen.wsForSeeds(seeds, psi), k: seeds.length, rowNames: null, source: { kind: 'seeds', seeds, psi } };
      const settings: OptimiseSettings = { ...settings0, batch: int(values, 'batch', defaultOptimiseBatch(resolution), [1, 4096]) };
      const idNote = identity
        ? `identity loss on (λ_ID ${lambdaId}, ${identity.manifest.id})`
        : `identity loss off (λ_ID = 0${identityDir ? `: ${identityDir} is not used; give --lambda-id to use it` : ', no --identity bundle'})`;
      io.err(`optimise: ${start.k} start code${start.k > 1 ? "s" : ""}, ${settings.steps} steps, λ_L2 ${settings.lambdaL2}, ${idNote}; device ${runtime.device}`);
      opt = await LatentOptimiser.open(gen, enc, { runtime, identity: identity?.graphFor(resolution) });
      const progress = progressPrinter(io);
      const run = await opt.optimise(start.ws, start.k, settings, progress.onProgress);
      progress.finish();
      const s = await gen.styles(run.ws, run.k);
      const first = run.curve[0];
      const last = run.curve[run.curve.length - 1];
      await writeOptimiseOutput(out, gen, {
        run,
        s,
        provenance: {
          method: 'StyleCLIP latent optimisation (method 1, Eq. 1)',
          ...toolProvenance(),
          generator: bundleIdentity(gen.bundle),
          encoder: bundleIdentity(enc.bundle),
          identity: identity ? bundleIdentity(identity.bundle) : null,
          target,
          objective: 'sum over samples of 1 - cos(E_I(P(G(w))), E_T(target)) + lambda_l2 * ||w - w_s||^2 + lambda_id * (1 - <R(G(w_s)), R(G(w))>)',
          settings: { steps: settings.steps, lr: settings.lr, lambdaL2: settings.lambdaL2, lambdaId: settings.lambdaId, batch: settings.batch, schedule: 'run_optimization.py get_lr (ramp-up 0.05, cosine ramp-down 0.25)', optimizer: 'Adam (beta1 0.9, beta2 0.999, eps 1e-8), float64 moments' },
          start: start.source,
          rows: start.rowNames,
        },
        runInfo: { seconds: run.seconds, stepSeconds: run.stepSeconds, forwardSeconds: run.forwardSeconds, batch: settings.batch, execution: runtimeExecution(runtime), finishedAt: new Date().toISOString() },
      });
      for (let k = 0; k < run.k; k++) {
        const id = last.id ? `, L_ID ${last.id[k].toFixed(4)}` : '';
        io.err(`  sample ${k}: D_CLIP ${first.clip[k].toFixed(4)} → ${last.clip[k].toFixed(4)}, ‖w − w_s‖² ${last.l2[k].toFixed(4)}${id}`);
      }
      io.err(`optimise: ${run.seconds.toFixed(1)} s (${((run.seconds / settings.steps) * 1000).toFixed(0)} ms per step) → ${out}`);
      io.out(out);
    } finally {
      await opt?.release();
      await enc.release();
      await gen.release();
    }
  },
});
