import { describe, expect, it } from 'vitest';
import { renderLabels } from '../../site/src/lib/render-labels.ts';

describe("a build page's render rows (renderLabels)", () => {
  it('names each exact graph and says it is exact', () => {
    for (const g of ['prefix-nchwc', 'prefix', 'nchwc']) {
      const l = renderLabels({ renderGraph: g });
      expect(l.graph.startsWith(`${g} — `)).toBe(true);
      expect(l.graph).toMatch(/exact/);
      expect(l.extent).toBe('the full image (exact)');
    }
    expect(renderLabels({ renderGraph: 'prefix' }).graph).not.toMatch(/NCHWc/);
    expect(renderLabels({}).graph).toMatch(/^portable — .*synthesis\.onnx/);
  });

  it('says --render-to is approximate and for which layers', () => {
    const l = renderLabels({ renderGraph: 'prefix-nchwc', renderTo: 256 });
    expect(l.extent).toMatch(/^--render-to 256: approximate — channels of layers at ≤ 256² /);
  });

  it('says an imported build was not rendered here, and shows an unknown graph by its name rather than as a known one', () => {
    expect(renderLabels({ imported: { file: 'fs3.npy' }, renderGraph: 'prefix' }).graph).toMatch(/^not rendered by StyleAtlas/);
    expect(renderLabels({ renderGraph: 'future-graph' }).graph).toBe('future-graph (not known to this site version)');
  });
});
