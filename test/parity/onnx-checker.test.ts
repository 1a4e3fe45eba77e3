/** The graphs StyleAtlas writes pass ONNX's own checker, and its .npy files load in NumPy. */
import { expect, it } from 'vitest';
import { modelDir } from '../helpers/bundles.ts';
import { python } from '../helpers/python.ts';

it('tiny generator graphs pass onnx.checker (full check) and w_avg.npy loads in NumPy', () => {
  const dir = modelDir('tiny');
  const out = python(
    `
import sys, json, onnx, numpy as np
d = sys.argv[1]
res = {}
for f in ['mapping.onnx', 'styles.onnx', 'synthesis.onnx']:
    m = onnx.load(d + '/' + f)
    onnx.checker.check_model(m, full_check=True)
    res[f] = [m.ir_version, m.opset_import[0].version, len(m.graph.output)]
a = np.load(d + '/w_avg.npy')
res['w_avg'] = [str(a.dtype), list(a.shape), float(a[0])]
print(json.dumps(res))
`,
    [dir],
  );
  const res = JSON.parse(out);
  expect(res['mapping.onnx']).toEqual([8, 17, 1]);
  expect(res['styles.onnx'][2]).toBe(14); // one output per style layer of the 64×64 generator: 2 + 4·3
  expect(res['synthesis.onnx']).toEqual([8, 17, 1]);
  expect(res.w_avg.slice(0, 2)).toEqual(['float32', [64]]);
  expect(Number.isFinite(res.w_avg[2])).toBe(true);
});
