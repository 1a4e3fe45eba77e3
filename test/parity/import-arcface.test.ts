/**
 * The identity network against PyTorch (ir_se_reference.py, TreB1eN's layout, random weights with
 * trained-looking BatchNorm statistics): `model_ir_se50.pth` imported as an identity bundle gives
 * PyTorch's features, and StyleCLIP's identity loss through the face crop — the value and its
 * gradient with respect to the image, at 64 and 256 px — matches PyTorch autograd. Tiny shapes
 * (seconds) and the exact IR-SE50 shapes (~1 min, ~3 GiB).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Identity } from '../../pipeline/models/identity.ts';
import { importArcface } from '../../pipeline/models/import/arcface.ts';
import { ModelSession, float32 } from '../../pipeline/models/runtime.ts';
import { GraphBuilder } from '../../pipeline/onnx/graph.ts';
import { differentiate } from '../../pipeline/onnx/grad/index.ts';
import { addBatchTotal, addFeatureDistance } from '../../pipeline/onnx/losses.ts';
import { npyF32, npyShape, runReference } from '../fixtures/parity/fixtures.ts';
import { cli } from '../helpers/cli.ts';
import { relErr } from '../helpers/numeric.ts';
import { python } from '../helpers/python.ts';
import { tempDir } from '../helpers/tmp.ts';

const SIZES = [64, 256];
const errors: Record<string, number> = {};
afterAll(() => console.log(`IR-SE parity (relative L2 errors): ${JSON.stringify(errors)}`));

function suite(title: string, options: string[], stages: { depth: number; units: number }[], embedDim: number): void {
  describe(title, () => {
    const work = tempDir('styleatlas-arcface-');
    const ref = join(work, 'reference');
    let identity: Identity;

    beforeAll(async () => {
      const t0 = performance.now();
      runReference('ir_se_reference.py', ref, [...options, '--sizes', SIZES.join(',')]);
      await importArcface(join(ref, 'model_ir_se50.pth'), join(work, 'bundle'), { id: 'arcface-parity' });
      identity = Identity.open(join(work, 'bundle'));
      console.log(`${title}: PyTorch reference + import ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }, 600_000);

    it('derives the architecture from the shapes and records the checkpoint', () => {
      const m = identity.manifest;
      expect(m.architecture).toMatchObject({ family: 'ir-se', inputSize: 112, embedDim, stages });
      const sha = createHash('sha256').update(readFileSync(join(ref, 'model_ir_se50.pth'))).digest('hex');
      expect(m.origin).toMatchObject({ type: 'import', sourceFile: 'model_ir_se50.pth', sourceSha256: sha });
      expect(m.origin.type === 'import' && m.origin.note).toMatch(/dropped \d+ num_batches_tracked counters/);
    });

    it("gives PyTorch's features of 112 px faces within 1e-4 relative", async () => {
      const s = await ModelSession.open(join(work, 'bundle', 'network.onnx'), 'network');
      const out = await s.run({ face: float32(npyF32(ref, 'faces.npy'), npyShape(ref, 'faces.npy')) });
      await s.release();
      errors[`${title} features`] = relErr(out.features.data as Float32Array, npyF32(ref, 'features.npy'));
      expect(errors[`${title} features`]).toBeLessThan(1e-4);
    });

    for (const size of SIZES) {
      it(`gives PyTorch's identity loss through the face crop, and its gradient, at ${size} px (1e-4 / 1e-3)`, async () => {
        const net = identity.graphFor(size);
        const features = new GraphBuilder('features');
        features.output(net.add(features, features.input('image', 'float32', ['batch', 3, size, size])), 'f', 'float32', ['batch', net.embedDim]);
        const g = new GraphBuilder('id_loss');
        const image = g.input('image', 'float32', ['batch', 3, size, size]);
        const f0 = g.input('f0', 'float32', ['batch', net.embedDim]);
        const perSample = addFeatureDistance(g, net.add(g, image), f0);
        g.output(perSample, 'id_loss', 'float32', ['batch']);
        g.output(addBatchTotal(g, perSample), 'total', 'float32', []);
        const grad = differentiate(g, { loss: 'total', wrt: ['image'], keep: { id_loss: 'id_loss' } });
        const [fs, gs] = await Promise.all([ModelSession.open(features.toBytes(), 'features'), ModelSession.open(grad.builder.toBytes(), 'id gradient')]);
        const shape = npyShape(ref, `image_${size}.npy`);
        const { f } = await fs.run({ image: float32(npyF32(ref, `start_${size}.npy`), shape) });
        const out = await gs.run({ image: float32(npyF32(ref, `image_${size}.npy`), shape), f0: f });
        await Promise.all([fs.release(), gs.release()]);
        errors[`${title} loss ${size}`] = relErr(out.id_loss.data as Float32Array, npyF32(ref, `id_loss_${size}.npy`));
        errors[`${title} grad ${size}`] = relErr(out.grad_image.data as Float32Array, npyF32(ref, `grad_${size}.npy`));
        expect(errors[`${title} loss ${size}`]).toBeLessThan(1e-4);
        expect(errors[`${title} grad ${size}`]).toBeLessThan(1e-3);
      }, 300_000);
    }
  });
}

suite('tiny IR-SE', ['--tiny'], [{ depth: 16, units: 1 }, { depth: 32, units: 1 }, { depth: 64, units: 1 }, { depth: 128, units: 1 }], 128);
suite('IR-SE50', [], [{ depth: 64, units: 3 }, { depth: 128, units: 4 }, { depth: 256, units: 14 }, { depth: 512, units: 3 }], 512);

describe('styleatlas import arcface', () => {
  const work = tempDir('styleatlas-arcface-cli-');
  const ref = join(work, 'reference');
  beforeAll(() => runReference('ir_se_reference.py', ref, ['--tiny', '--sizes', '64']), 300_000);

  it('imports the checkpoint into a bundle optimise can use', () => {
    const out = join(work, 'ok');
    const r = cli(['import', 'arcface', join(ref, 'model_ir_se50.pth'), '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/IR-SE, 1-1-1-1 units, widths 16→32→64→128, 128-d features/);
    expect(Identity.open(out).manifest.id).toBe('ok');
  });

  const bad: [string, string, string, RegExp][] = [
    ['another state dict', "torch.save({'conv.weight': torch.zeros(2, 3)}, sys.argv[1])", 'E_CHECKPOINT', /not an IR-SE ArcFace state dict/],
    ['an extra tensor', "sd = torch.load(sys.argv[2]); sd['head.kernel'] = torch.zeros(2); torch.save(sd, sys.argv[1])", 'E_CHECKPOINT', /unexpected tensors head\.kernel/],
    ['a tensor of the wrong shape', "sd = torch.load(sys.argv[2]); sd['body.0.res_layer.2.weight'] = torch.zeros(3); torch.save(sd, sys.argv[1])", 'E_SHAPE', /body\.0\.res_layer\.2\.weight has shape \[3\], expected \[16\]/],
  ];
  for (const [what, script, code, message] of bad) {
    it(`refuses ${what} with ${code} and writes nothing`, () => {
      const file = join(work, `${code}-${what.replace(/\W+/g, '-')}.pth`);
      python(`import sys, torch\n${script}`, [file, join(ref, 'model_ir_se50.pth')]);
      const out = join(work, `bad-${what.replace(/\W+/g, '-')}`);
      const r = cli(['import', 'arcface', file, '--out', out]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(code);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    });
  }
});
