/** The IR-SE table (onnx/arcface/arch.ts) and the identity loss's face crop (onnx/arcface/face-pool.ts). */
import { describe, expect, it } from 'vitest';
import { irSe50Arch, irSeArchFromStateDict, irSeFlops, irSeParamSpec, irSeUnits, tinyIrSeArch } from '../../pipeline/onnx/arcface/arch.ts';
import { FACE_ALIGN, adaptiveAvgPoolMatrix, facePoolAxis } from '../../pipeline/onnx/arcface/face-pool.ts';
import type { StateDict } from '../../pipeline/onnx/params.ts';

const shapesOnly = (spec: Map<string, number[]>): StateDict => new Map([...spec].map(([k, dims]) => [k, { dtype: 'float32' as const, dims, data: new Float32Array(0) }]));

describe('IR-SE architecture', () => {
  it('has IR-SE50’s 24 units with stride 2 at each stage start, and its parameter count', () => {
    const units = irSeUnits(irSe50Arch());
    expect(units).toHaveLength(24);
    expect(units.filter((u) => u.stride === 2).map((u) => u.index)).toEqual([0, 3, 7, 21]);
    expect(units.filter((u) => u.inChannels !== u.depth).map((u) => u.index)).toEqual([3, 7, 21]); // conv shortcuts; the rest MaxPool2d(1, s)
    const spec = irSeParamSpec(irSe50Arch());
    expect(spec.get('output_layer.3.weight')).toEqual([512, 512 * 7 * 7]);
    expect(spec.get('body.0.res_layer.5.fc1.weight')).toEqual([4, 64, 1, 1]);
    const params = [...spec.values()].reduce((s, d) => s + d.reduce((a, b) => a * b, 1), 0);
    expect(params).toBe(43_824_064); // the state dict's float tensors (torch: Backbone(112, 50, 'ir_se').state_dict()), running statistics included
    expect(spec.size).toBe(397 - 54); // its 397 entries less the 54 num_batches_tracked counters
  });

  it('derives IR-SE50 and the tiny shapes back from a state dict', () => {
    for (const arch of [irSe50Arch(), tinyIrSeArch()]) expect(irSeArchFromStateDict(shapesOnly(irSeParamSpec(arch)))).toEqual(arch);
  });

  it('counts ~12.6 GFLOP per 112 px face for IR-SE50', () => {
    expect(irSeFlops(irSe50Arch()) / 1e9).toBeCloseTo(12.6, 1);
    expect(irSeFlops(tinyIrSeArch())).toBeLessThan(1e9);
  });
});

describe('face crop of the identity loss', () => {
  it('pools adaptively as torch does: windows [⌊i·n/m⌋, ⌈(i+1)·n/m⌉)', () => {
    expect(Array.from(adaptiveAvgPoolMatrix(5, 3)).map((v) => +v.toFixed(6))).toEqual([0.5, 0.5, 0, 0, 0, 0, 1 / 3, 1 / 3, 1 / 3, 0, 0, 0, 0, 0.5, 0.5].map((v) => +v.toFixed(6)));
    expect(Array.from(adaptiveAvgPoolMatrix(4, 8))).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it('reads only the crop [35, 223) of a 256 px image, every row averaging to 1', () => {
    const rows = facePoolAxis(256, FACE_ALIGN.rows);
    for (let i = 0; i < 112; i++) {
      let sum = 0;
      for (let j = 0; j < 256; j++) {
        const v = rows[i * 256 + j];
        if (j < 35 || j >= 223) expect(v).toBe(0);
        sum += v;
      }
      expect(sum).toBeCloseTo(1, 12);
    }
  });

  it('pools a 1024 px image to 256 first (4×4 blocks), so the crop starts at pixel 140', () => {
    const cols = facePoolAxis(1024, FACE_ALIGN.cols);
    const firstUsed = Array.from({ length: 1024 }, (_, j) => cols[j]).findIndex((v) => v > 0);
    expect(firstUsed).toBe(32 * 4);
  });
});
