/** The loss-curve SVG writer (store/loss-curve-svg.ts): round ticks, escaped text, one path per series. */
import { describe, expect, it } from 'vitest';
import { niceTicks, renderLossCurveSvg } from '../../pipeline/store/loss-curve-svg.ts';

describe('renderLossCurveSvg', () => {
  it('picks round ticks covering the range', () => {
    expect(niceTicks(0, 300)).toEqual([0, 100, 200, 300]);
    expect(niceTicks(0.78, 0.99)).toEqual([0.8, 0.85, 0.9, 0.95]);
    expect(niceTicks(2, 2)).toEqual([2]);
  });

  it('writes one path per series and escapes every text it is given', () => {
    const svg = renderLossCurveSvg(
      [{ name: 'a <b>', values: [1, 0.5, 0.25] }, { name: 'c & d', values: [0.9, 0.4, 0.2], dashed: true }],
      { title: 'method 1: "<script>alert(1)</script>"' },
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
    expect(svg).toContain('a &lt;b&gt;');
    expect(svg).toContain('c &amp; d');
    expect(svg.match(/<path d="M/g)).toHaveLength(2 + 1); // two series and the axes
    expect(svg).toContain('stroke-dasharray="5 3"');
  });
});
