/**
 * A loss curve as a standalone SVG file: one line per series over the optimisation steps, with
 * axes, ticks and a legend. Pure (returns the text); no fonts or scripts are referenced, so the
 * file renders the same in any browser or viewer.
 */

export interface CurveSeries {
  name: string;
  values: readonly number[];
  dashed?: boolean;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Round, readable tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

export function renderLossCurveSvg(series: readonly CurveSeries[], opts: { title: string; xLabel?: string; width?: number; height?: number }): string {
  const width = opts.width ?? 640;
  const height = opts.height ?? 360;
  const m = { left: 64, right: 16, top: 36, bottom: 48 + 16 * Math.ceil(series.length / 3) };
  const steps = Math.max(1, ...series.map((s) => s.values.length - 1));
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (!(hi > lo)) [lo, hi] = [lo - 0.5, hi + 0.5];
  const pad = (hi - lo) * 0.05;
  [lo, hi] = [lo - pad, hi + pad];
  const x = (i: number) => m.left + ((width - m.left - m.right) * i) / steps;
  const y = (v: number) => m.top + ((height - m.top - m.bottom) * (hi - v)) / (hi - lo);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(opts.title)}</text>`,
  ];
  const bottom = height - m.bottom;
  for (const t of niceTicks(lo, hi)) {
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`);
  }
  for (const t of niceTicks(0, steps)) {
    parts.push(`<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${bottom}" y2="${bottom + 4}" stroke="#333"/>`);
    parts.push(`<text x="${x(t).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${t}</text>`);
  }
  parts.push(`<path d="M${m.left} ${m.top}V${bottom}H${width - m.right}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${(m.left + width - m.right) / 2}" y="${bottom + 32}" text-anchor="middle">${escapeXml(opts.xLabel ?? 'step')}</text>`);
  series.forEach((s, k) => {
    const colour = PALETTE[Math.floor(k / (series.some((q) => q.dashed) ? 2 : 1)) % PALETTE.length];
    const d = s.values.map((v, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)} ${y(v).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    const lx = m.left + (k % 3) * 190;
    const ly = bottom + 48 + 16 * Math.floor(k / 3);
    parts.push(`<line x1="${lx}" x2="${lx + 20}" y1="${ly - 4}" y2="${ly - 4}" stroke="${colour}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    parts.push(`<text x="${lx + 26}" y="${ly}">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
