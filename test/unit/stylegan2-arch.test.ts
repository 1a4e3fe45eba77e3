import { describe, expect, it } from 'vitest';
import { ffhqArch, numWs, rosinalityChannels, styleLayers, stylegan2ParamSpec, synthesisFlops } from '../../pipeline/onnx/stylegan2/arch.ts';

describe('FFHQ-1024 layer table', () => {
  const layers = styleLayers(ffhqArch());
  it('has 26 style layers, 18 ws, 9088 channels, 6048 in conv layers', () => {
    expect(layers).toHaveLength(26);
    expect(numWs(ffhqArch())).toBe(18);
    expect(layers.reduce((s, l) => s + l.channels, 0)).toBe(9088);
    expect(layers.filter((l) => l.kind === 'conv').reduce((s, l) => s + l.channels, 0)).toBe(6048);
    expect(layers.filter((l) => l.kind === 'conv' && l.resolution <= 128).reduce((s, l) => s + l.channels, 0)).toBe(5376);
  });

  it('orders names and w indices as StyleGAN2 does', () => {
    expect(layers.slice(0, 6).map((l) => `${l.name}:${l.wIndex}`)).toEqual([
      'b4.conv1:0', 'b4.torgb:1', 'b8.conv0:1', 'b8.conv1:2', 'b8.torgb:3', 'b16.conv0:3',
    ]);
    expect(layers.slice(-3).map((l) => `${l.name}:${l.wIndex}:${l.channels}`)).toEqual([
      'b1024.conv0:15:64', 'b1024.conv1:16:32', 'b1024.torgb:17:32',
    ]);
  });

  it('names parameters as rosinality does, with their shapes', () => {
    const spec = stylegan2ParamSpec(ffhqArch());
    expect(spec.get('style.1.weight')).toEqual([512, 512]);
    expect(spec.get('convs.0.conv.weight')).toEqual([1, 512, 512, 3, 3]);
    expect(spec.get('convs.15.conv.weight')).toEqual([1, 32, 32, 3, 3]);
    expect(spec.get('to_rgbs.7.conv.modulation.weight')).toEqual([32, 512]);
    expect(spec.get('noises.noise_16')).toEqual([1, 1, 1024, 1024]);
    expect(spec.get('to_rgb1.bias')).toEqual([1, 3, 1, 1]);
    expect(spec.size).toBe(8 * 2 + 1 + 17 * 5 + 9 * 4 + 17); // mapping, const, convs, toRGBs, noises
  });

  it('counts synthesis FLOPs from the table', () => {
    // b1024.conv1 alone: 2 · 1024² · 32 · 32 · 9
    expect(synthesisFlops(ffhqArch())).toBeGreaterThan(2 * 1024 * 1024 * 32 * 32 * 9);
    expect(synthesisFlops(ffhqArch())).toBeLessThan(1e12);
  });
});

it('rejects resolutions that are not powers of two', () => {
  expect(() => styleLayers({ ...ffhqArch(), resolution: 1000 })).toThrow(/power of two/);
  expect(() => rosinalityChannels(2048)).toThrow(/above 1024/);
});
