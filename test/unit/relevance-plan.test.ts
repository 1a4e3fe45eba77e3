import { describe, expect, it } from 'vitest';
import { StyleAtlasError } from '../../pipeline/core/errors.ts';
import { styleLayout } from '../../pipeline/core/styles.ts';
import { ffhqArch, styleLayers } from '../../pipeline/onnx/stylegan2/arch.ts';
import { channelsOf, defaultBatch, parseShard, planChunks } from '../../pipeline/stages/relevance-plan.ts';

describe('relevance plan', () => {
  const layout = styleLayout(styleLayers(ffhqArch()));

  it('selects the channel sets of DESIGN §1 on FFHQ-1024', () => {
    expect(channelsOf(layout, 'conv')).toHaveLength(6048);
    expect(channelsOf(layout, 'reference')).toHaveLength(5376);
    expect(channelsOf(layout, 'all')).toHaveLength(9088);
    const conv = channelsOf(layout, 'conv');
    expect(conv.slice(0, 2)).toEqual([0, 1]); // b4.conv1 starts at 0
    expect(conv[512]).toBe(1024); // b4.torgb (512..1023) is skipped
  });

  it('cuts the same chunks whatever the shard count, each chunk in exactly one shard', () => {
    const channels = channelsOf(layout, 'conv');
    const whole = planChunks(channels, 100);
    const shards = [0, 1, 2].flatMap((i) => planChunks(channels, 100, { index: i, count: 3 }));
    expect(shards.map((c) => c.index).sort((a, b) => a - b)).toEqual(whole.map((c) => c.index));
    expect(shards.find((c) => c.index === 7)!.channels).toEqual(whole[7].channels);
    expect(whole.at(-1)!.channels).toHaveLength(6048 - 60 * 100);
  });

  it('parses shards and refuses bad ones', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    expect(() => parseShard('4/4')).toThrow(StyleAtlasError);
    expect(() => parseShard('1-4')).toThrow(/must look like i\/n/);
  });

  it('picks an even batch that keeps large generators within a few GiB', () => {
    expect([64, 256, 512, 1024].map(defaultBatch)).toEqual([16, 16, 4, 2]);
  });
});
