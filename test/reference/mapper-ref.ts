/**
 * An independent plain-TypeScript LevelsMapper forward in float64, written from the official
 * mapper/latent_mappers.py and rosinality's EqualLinear / PixelNorm / fused_leaky_relu, for the
 * mapper graph's tests. It shares nothing with pipeline/onnx/mapper.ts but the parameter names.
 */
import { type MapperWeights, mapperGroups, mapperParamName } from '../../pipeline/core/mapper.ts';

/** M_t(ws) for ws [B, numWs, wDim] (row-major). */
export function refMapper(weights: MapperWeights, ws: Float32Array, batch: number, numWs: number, wDim: number): Float64Array {
  const out = new Float64Array(batch * numWs * wDim);
  for (const grp of mapperGroups(numWs)) {
    const k = grp.end - grp.start;
    for (let b = 0; b < batch; b++) {
      // x [k, D]: the group's rows of sample b
      let x: Float64Array[] = [];
      for (let r = 0; r < k; r++) x.push(Float64Array.from(ws.subarray(((b * numWs) + grp.start + r) * wDim, ((b * numWs) + grp.start + r + 1) * wDim)));
      // PixelNorm over dim 1 of [B, k, D]: for each channel, over the k rows
      for (let d = 0; d < wDim; d++) {
        let ms = 0;
        for (let r = 0; r < k; r++) ms += x[r][d] * x[r][d];
        const inv = 1 / Math.sqrt(ms / k + 1e-8);
        for (let r = 0; r < k; r++) x[r][d] *= inv;
      }
      for (let layer = 1; layer <= 4; layer++) {
        const w = weights.get(mapperParamName(grp.module, layer, 'weight'))!;
        const bias = weights.get(mapperParamName(grp.module, layer, 'bias'))!;
        const scale = 0.01 / Math.sqrt(wDim);
        x = x.map((row) => {
          const y = new Float64Array(wDim);
          for (let o = 0; o < wDim; o++) {
            let acc = 0;
            for (let i = 0; i < wDim; i++) acc += row[i] * w[o * wDim + i] * scale;
            const v = acc + bias[o] * 0.01;
            y[o] = (v >= 0 ? v : 0.2 * v) * Math.SQRT2;
          }
          return y;
        });
      }
      for (let r = 0; r < k; r++) out.set(x[r], ((b * numWs) + grp.start + r) * wDim);
    }
  }
  return out;
}
