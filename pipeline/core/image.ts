/** Image layout conversions on typed arrays: generator output (NCHW, [-1, 1]) to 8-bit RGB. */

/** Sample b of image [B, 3, H, W] in [-1, 1] → RGB bytes [H, W, 3], clamped, round-half-up. */
export function toRGB8(imageNCHW: Float32Array, b: number, height: number, width: number): Uint8Array {
  const plane = height * width;
  const base = b * 3 * plane;
  const out = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) {
      const v = Math.floor((imageNCHW[base + c * plane + p] + 1) * 127.5 + 0.5);
      out[p * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

export interface GridSpec {
  rows: number;
  cols: number;
  /** Tile size in pixels (tiles are square). */
  tile: number;
  gap: number;
  background: [number, number, number];
}

/** Place RGB tiles [tile, tile, 3] row-major into one RGB canvas; `null` leaves a gap. */
export function tileGrid(tiles: readonly (Uint8Array | null)[], spec: GridSpec): { data: Uint8Array; width: number; height: number } {
  const { rows, cols, tile, gap, background } = spec;
  const width = cols * tile + (cols + 1) * gap;
  const height = rows * tile + (rows + 1) * gap;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(background, i * 3);
  tiles.forEach((t, i) => {
    if (!t) return;
    if (t.length !== tile * tile * 3) throw new RangeError(`tile ${i}: expected ${tile * tile * 3} bytes, got ${t.length}`);
    const x0 = gap + (i % cols) * (tile + gap);
    const y0 = gap + Math.floor(i / cols) * (tile + gap);
    for (let y = 0; y < tile; y++) data.set(t.subarray(y * tile * 3, (y + 1) * tile * 3), ((y0 + y) * width + x0) * 3);
  });
  return { data, width, height };
}

export interface PixelStats {
  red: number;
  green: number;
  blue: number;
  /** Mean Rec. 601 luma. */
  brightness: number;
  /** Mean of max(R,G,B) − min(R,G,B). */
  saturation: number;
}

/** Mean colour facts of sample b of image [B, 3, H, W] in [-1, 1], measured in [0, 1] after clamping. */
export function pixelStats(imageNCHW: Float32Array, b: number, height: number, width: number): PixelStats {
  const plane = height * width;
  const base = b * 3 * plane;
  const c01 = (v: number) => Math.min(1, Math.max(0, (v + 1) / 2));
  let r = 0;
  let g = 0;
  let bl = 0;
  let sat = 0;
  for (let p = 0; p < plane; p++) {
    const R = c01(imageNCHW[base + p]);
    const G = c01(imageNCHW[base + plane + p]);
    const B = c01(imageNCHW[base + 2 * plane + p]);
    r += R;
    g += G;
    bl += B;
    sat += Math.max(R, G, B) - Math.min(R, G, B);
  }
  r /= plane;
  g /= plane;
  bl /= plane;
  return { red: r, green: g, blue: bl, brightness: 0.299 * r + 0.587 * g + 0.114 * bl, saturation: sat / plane };
}
