/**
 * Identity bundles (kind "identity"): the tiny-ir-se recipe builds identical bytes every time (the
 * tracked manifest pins them), its network runs and gives unit features, and a manifest that
 * disagrees with the graph, or another kind of bundle, is refused at open.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isStyleAtlasError } from '../../pipeline/core/errors.ts';
import { Identity } from '../../pipeline/models/identity.ts';
import { tinyIrSeRecipe } from '../../pipeline/models/recipes/ir-se-random.ts';
import { ModelSession, float32 } from '../../pipeline/models/runtime.ts';
import { modelDir } from '../helpers/bundles.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return isStyleAtlasError(e) ? `${e.code}: ${e.message}` : String(e);
  }
  return 'no error';
}

describe('tiny-ir-se', () => {
  it('builds to identical bytes every time, matching the tracked manifest', async () => {
    await tinyIrSeRecipe.build(join(tmp, 'a'), { log: () => {} });
    await tinyIrSeRecipe.build(join(tmp, 'b'), { log: () => {} });
    const text = readFileSync(join(tmp, 'a', 'manifest.json'), 'utf8');
    expect(readFileSync(join(tmp, 'b', 'manifest.json'), 'utf8')).toBe(text);
    expect(text).toBe(readFileSync(join(modelDir('tiny-ir-se'), 'manifest.json'), 'utf8'));
    expect(JSON.parse(text).origin).toMatchObject({ type: 'random', note: expect.stringContaining('not a trained model') });
  });

  it('gives unit-length features of 112 px faces', async () => {
    const s = await ModelSession.open(join(modelDir('tiny-ir-se'), 'network.onnx'), 'tiny-ir-se');
    const faces = Float32Array.from({ length: 2 * 3 * 112 * 112 }, (_, i) => Math.sin(i * 0.37));
    const { features } = await s.run({ face: float32(faces, [2, 3, 112, 112]) });
    await s.release();
    expect(features.dims).toEqual([2, 128]);
    for (let b = 0; b < 2; b++) {
      const row = (features.data as Float32Array).subarray(b * 128, (b + 1) * 128);
      expect(Math.hypot(...row)).toBeCloseTo(1, 5);
    }
  });

  it('refuses a manifest that disagrees with its graph, and bundles of another kind', () => {
    const dir = join(tmp, 'wrong');
    cpSync(modelDir('tiny-ir-se'), dir, { recursive: true });
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    m.architecture.embedDim = 512;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    expect(codeOf(() => Identity.open(dir))).toMatch(/^E_MANIFEST: .*key "architecture.embedDim": expects network.onnx output features of shape \[batch, 512\], the graph has \[batch, 128\]/);
    expect(codeOf(() => Identity.open(modelDir('colour-world')))).toMatch(/^E_MANIFEST: .*expected "identity", found "encoder"/);
  });
});
