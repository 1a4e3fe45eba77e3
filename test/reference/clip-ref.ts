/**
 * A plain-TypeScript forward of OpenAI CLIP's two towers (clip/model.py), written from the paper's
 * maths rather than from the ONNX graphs, to check them: loops over typed arrays, float64
 * accumulation, one sample at a time, clarity over speed. It reads weights by state-dict name only
 * and derives every size from the weights' shapes, so it shares no code with pipeline/onnx/clip.
 */
import type { StateDict } from '../../pipeline/onnx/params.ts';

const HEAD = 64;

function get(sd: StateDict, name: string): { data: Float32Array; dims: readonly number[] } {
  const t = sd.get(name);
  if (!t) throw new Error(`reference: missing tensor ${name}`);
  return { data: t.data as Float32Array, dims: t.dims };
}

/** Rows of `width` values, one per token. */
type Rows = Float64Array[];

function layerNorm(x: Rows, sd: StateDict, prefix: string): Rows {
  const g = get(sd, `${prefix}.weight`).data;
  const b = get(sd, `${prefix}.bias`).data;
  return x.map((row) => {
    let mean = 0;
    for (const v of row) mean += v;
    mean /= row.length;
    let variance = 0;
    for (const v of row) variance += (v - mean) ** 2;
    variance /= row.length; // biased, as torch's LayerNorm
    const inv = 1 / Math.sqrt(variance + 1e-5);
    return row.map((v, i) => (v - mean) * inv * g[i] + b[i]);
  });
}

/** y = x Wᵀ + b for a torch Linear weight [out, in]; `rowOffset` selects a block of W's rows. */
function linear(x: Rows, w: Float32Array, b: Float32Array | undefined, inDim: number, outDim: number, rowOffset = 0): Rows {
  return x.map((row) => {
    const y = new Float64Array(outDim);
    for (let o = 0; o < outDim; o++) {
      let acc = b ? b[rowOffset + o] : 0;
      const base = (rowOffset + o) * inDim;
      for (let i = 0; i < inDim; i++) acc += row[i] * w[base + i];
      y[o] = acc;
    }
    return y;
  });
}

/** Multi-head self-attention; with `causal`, token i attends only to tokens 0..i. */
function selfAttention(x: Rows, sd: StateDict, prefix: string, causal: boolean): Rows {
  const width = x[0].length;
  const inW = get(sd, `${prefix}.in_proj_weight`).data; // rows: q (0..W-1), k (W..2W-1), v (2W..3W-1)
  const inB = get(sd, `${prefix}.in_proj_bias`).data;
  const q = linear(x, inW, inB, width, width, 0);
  const k = linear(x, inW, inB, width, width, width);
  const v = linear(x, inW, inB, width, width, 2 * width);
  const n = x.length;
  const out: Rows = x.map(() => new Float64Array(width));
  for (let h = 0; h < width / HEAD; h++) {
    const off = h * HEAD;
    for (let i = 0; i < n; i++) {
      const last = causal ? i : n - 1;
      const scores: number[] = [];
      for (let j = 0; j <= last; j++) {
        let dot = 0;
        for (let d = 0; d < HEAD; d++) dot += q[i][off + d] * k[j][off + d];
        scores.push(dot / Math.sqrt(HEAD));
      }
      const max = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - max));
      const sum = e.reduce((a, c) => a + c, 0);
      for (let j = 0; j <= last; j++) {
        const p = e[j] / sum;
        for (let d = 0; d < HEAD; d++) out[i][off + d] += p * v[j][off + d];
      }
    }
  }
  return linear(out, get(sd, `${prefix}.out_proj.weight`).data, get(sd, `${prefix}.out_proj.bias`).data, width, width);
}

function add(a: Rows, b: Rows): Rows {
  return a.map((row, i) => row.map((v, j) => v + b[i][j]));
}

function mlp(x: Rows, sd: StateDict, prefix: string): Rows {
  const width = x[0].length;
  const h = linear(x, get(sd, `${prefix}.c_fc.weight`).data, get(sd, `${prefix}.c_fc.bias`).data, width, 4 * width);
  const act = h.map((row) => row.map((v) => v / (1 + Math.exp(-1.702 * v)))); // QuickGELU x·σ(1.702x)
  return linear(act, get(sd, `${prefix}.c_proj.weight`).data, get(sd, `${prefix}.c_proj.bias`).data, 4 * width, width);
}

function countBlocks(sd: StateDict, prefix: string): number {
  let n = 0;
  while (sd.has(`${prefix}.resblocks.${n}.attn.in_proj_weight`)) n++;
  return n;
}

function transformer(x: Rows, sd: StateDict, prefix: string, causal: boolean): Rows {
  let y = x;
  for (let l = 0; l < countBlocks(sd, prefix); l++) {
    const p = `${prefix}.resblocks.${l}`;
    y = add(y, selfAttention(layerNorm(y, sd, `${p}.ln_1`), sd, `${p}.attn`, causal));
    y = add(y, mlp(layerNorm(y, sd, `${p}.ln_2`), sd, `${p}.mlp`));
  }
  return y;
}

/** row @ P for a [in, out] projection matrix. */
function project(row: Float64Array, p: { data: Float32Array; dims: readonly number[] }): Float64Array {
  const [inDim, outDim] = p.dims;
  const y = new Float64Array(outDim);
  for (let i = 0; i < inDim; i++) for (let o = 0; o < outDim; o++) y[o] += row[i] * p.data[i * outDim + o];
  return y;
}

/** encode_image for a batch of normalised images laid out [B, 3, S, S]; returns [B, D] rows. */
export function referenceClipVisual(sd: StateDict, pixelsNCHW: Float32Array, batch: number): Float64Array[] {
  const conv = get(sd, 'visual.conv1.weight'); // [W, 3, P, P]
  const [width, , patch] = conv.dims;
  const cls = get(sd, 'visual.class_embedding').data;
  const pos = get(sd, 'visual.positional_embedding').data;
  const grid = Math.round(Math.sqrt(get(sd, 'visual.positional_embedding').dims[0] - 1));
  const side = grid * patch;
  const out: Float64Array[] = [];
  for (let b = 0; b < batch; b++) {
    const px = (c: number, y: number, x: number) => pixelsNCHW[((b * 3 + c) * side + y) * side + x];
    const tokens: Rows = [Float64Array.from(cls)];
    for (let gy = 0; gy < grid; gy++) {
      for (let gx = 0; gx < grid; gx++) {
        const t = new Float64Array(width);
        for (let o = 0; o < width; o++) {
          let acc = 0;
          for (let c = 0; c < 3; c++)
            for (let ky = 0; ky < patch; ky++)
              for (let kx = 0; kx < patch; kx++) acc += conv.data[((o * 3 + c) * patch + ky) * patch + kx] * px(c, gy * patch + ky, gx * patch + kx);
          t[o] = acc;
        }
        tokens.push(t);
      }
    }
    const withPos = tokens.map((row, n) => row.map((v, i) => v + pos[n * width + i]));
    const x = transformer(layerNorm(withPos, sd, 'visual.ln_pre'), sd, 'visual.transformer', false);
    const [pooled] = layerNorm([x[0]], sd, 'visual.ln_post');
    out.push(project(pooled, get(sd, 'visual.proj')));
  }
  return out;
}

/**
 * The text tower's output at every position of one row of ids (ln_final, then text_projection):
 * [N] rows of [D]. encode_text keeps only the row at the end-of-text position.
 */
export function referenceClipTextAllPositions(sd: StateDict, ids: readonly number[]): Float64Array[] {
  const table = get(sd, 'token_embedding.weight');
  const width = table.dims[1];
  const pos = get(sd, 'positional_embedding').data;
  const x0: Rows = ids.map((id, n) => {
    const row = new Float64Array(width);
    for (let i = 0; i < width; i++) row[i] = table.data[id * width + i] + pos[n * width + i];
    return row;
  });
  const x = layerNorm(transformer(x0, sd, 'transformer', true), sd, 'ln_final');
  return x.map((row) => project(row, get(sd, 'text_projection')));
}

/** encode_text for rows of token ids (each contextLength long); returns [B, D] rows. */
export function referenceClipText(sd: StateDict, idRows: readonly (readonly number[])[]): Float64Array[] {
  return idRows.map((ids) => {
    const eot = ids.indexOf(Math.max(...ids)); // the end-of-text token has the largest id
    return referenceClipTextAllPositions(sd, ids)[eot];
  });
}
