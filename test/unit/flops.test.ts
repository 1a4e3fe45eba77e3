import { describe, expect, it } from 'vitest';
import { buildPreprocessGraph, clipPreprocessFlops } from '../../pipeline/onnx/preprocess.ts';
import { type StyleGAN2Arch, synthesisFlops } from '../../pipeline/onnx/stylegan2/arch.ts';

const MEAN = [0.5, 0.5, 0.5] as const;
const STD = [0.25, 0.25, 0.25] as const;

describe('FLOPs per render, counted by hand', () => {
  it('synthesisFlops of an 8×8 generator with widths 2 → 1 is the sum of its layers', () => {
    const arch: StyleGAN2Arch = { resolution: 8, zDim: 4, wDim: 4, mappingLayers: 1, mappingLrMul: 0.01, channels: { 4: 2, 8: 1 } };
    const layers = {
      'b4.conv1 (3×3, 2→2 at 4²)': 2 * 16 * 2 * 2 * 9,
      'b4.torgb (1×1, 2→3 at 4², no skip)': 2 * 16 * 2 * 3,
      'b8.conv0 transposed (3×3, 2→1 per 4² input pixel)': 2 * 16 * 2 * 1 * 9,
      'b8.conv0 blur (4×4 depthwise, 1 channel at 8²)': 2 * 64 * 1 * 16,
      'b8.conv1 (3×3, 1→1 at 8²)': 2 * 64 * 1 * 1 * 9,
      'b8.torgb (1×1, 1→3 at 8²)': 2 * 64 * 1 * 3,
      'b8 skip upsample (4×4 depthwise, 3 channels at 8²)': 2 * 64 * 3 * 16,
    };
    expect(Object.values(layers).reduce((a, b) => a + b)).toBe(11_648);
    expect(synthesisFlops(arch)).toBe(11_648);
  });

  it('clipPreprocessFlops counts both dense resize MatMuls of a square image', () => {
    // 8×8 → 4×4: width pass [3, 8, 8] @ [8, 4], height pass [4, 8] @ [3, 8, 4]
    expect(clipPreprocessFlops({ inSize: 8, outSize: 4, mean: MEAN, std: STD })).toBe(2 * 3 * 8 * 8 * 4 + 2 * 3 * 4 * 8 * 4);
  });

  it('clipPreprocessFlops follows the MatMul shapes of a non-square image, crop included', () => {
    // 6 high × 12 wide → resize to 4 × 8, crop 4 × 4: the matrices are [W=12, S=4] and [S=4, H=6]
    expect(clipPreprocessFlops({ inSize: [6, 12], outSize: 4, mean: MEAN, std: STD })).toBe(2 * 3 * 6 * 12 * 4 + 2 * 3 * 4 * 6 * 4);
  });

  it('clipPreprocessFlops matches the MatMul weights of the graph addClipPreprocess really builds', () => {
    const spec = { inSize: [40, 24] as const, outSize: 16, mean: MEAN, std: STD };
    const model = buildPreprocessGraph(spec).toModelObject() as { graph: { initializer: { name: string; dims: number[] }[] } };
    const dims = (name: string) => model.graph.initializer.find((t) => t.name === name)!.dims;
    const [w, s] = dims('preprocess.resize_width'); // image [B, 3, H=40, W] @ [W, S]
    const [s2, h] = dims('preprocess.resize_height'); // [S, H] @ [B, 3, H, S]
    expect([w, s, s2, h]).toEqual([24, 16, 16, 40]);
    expect(clipPreprocessFlops(spec)).toBe(2 * (3 * 40 * w * s + 3 * s2 * h * s));
  });
});
