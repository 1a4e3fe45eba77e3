/**
 * The bench's split of a profile by pass role (scripts/bench/roles.ts) on hand-written traces:
 * which node names carry which role, the FLOPs and bytes read from recorded shapes, that only the
 * last runs count, and the roofline — each checked against numbers worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import type { ProfileEvent } from '../../pipeline/models/runtime.ts';
import { nchwcPassRole } from '../../pipeline/onnx/stylegan2/nchwc-synthesis.ts';
import { kernelWork, roleSplit, rooflineSeconds } from '../../scripts/bench/roles.ts';

const run = (ts: number, dur: number): ProfileEvent => ({ cat: 'Session', name: 'model_run', ts, dur });
const kernel = (node: string, op: string, ts: number, dur: number, inputs: number[][], output: number[]): ProfileEvent => ({
  cat: 'Node',
  name: `${node}_kernel_time`,
  ts,
  dur,
  args: { op_name: op, input_type_shape: inputs.map((d) => ({ float: d })), output_type_shape: [{ float: output }] },
});

describe('pass roles in node names', () => {
  it('reads the role the NCHWc writer puts after # and nothing else', () => {
    expect(nchwcPassRole('b8.conv0#conv_phase01')).toBe('conv');
    expect(nchwcPassRole('b8.conv1#conv')).toBe('conv');
    expect(nchwcPassRole('b8.conv0#interleave_gather_2')).toBe('interleave');
    expect(nchwcPassRole('b16.torgb#rgb_skip_concat')).toBe('rgb');
    expect(nchwcPassRole('b8.conv0#noise')).toBe('noise');
    expect(nchwcPassRole('b8.conv0#blur')).toBe('blur');
    // Unnamed nodes as viewModel names them, other nodes, unknown roles.
    expect(nchwcPassRole('Conv#12')).toBeUndefined();
    expect(nchwcPassRole('node_Mul_3')).toBeUndefined();
    expect(nchwcPassRole('b8.conv0#fused')).toBeUndefined();
    expect(nchwcPassRole('b8.conv0#conv.x')).toBeUndefined();
  });
});

describe('work of one kernel from its recorded shapes', () => {
  it('a grouped 3×3 conv: 2·|output|·(I/g)·kh·kw FLOPs, inputs + output bytes', () => {
    const e = kernel('b8.conv1#conv', 'Conv', 0, 1, [[2, 32, 8, 8], [32, 16, 3, 3], [32]], [2, 32, 8, 8]);
    // 2 · 4096 outputs · 16 · 9 = 1 179 648; bytes 4 · (4096 + 4608 + 32 + 4096).
    expect(kernelWork(e)).toEqual({ flops: 1_179_648, bytes: 51_328 });
  });
  it('elementwise ops move bytes and do no FLOPs; views move none', () => {
    expect(kernelWork(kernel('m', 'Mul', 0, 1, [[4, 8], [1, 8]], [4, 8]))).toEqual({ flops: 0, bytes: 4 * (32 + 8 + 32) });
    expect(kernelWork(kernel('r', 'Reshape', 0, 1, [[4, 8], [2]], [32]))).toEqual({ flops: 0, bytes: 0 });
  });
  it('refuses what it cannot size', () => {
    const odd: ProfileEvent = { cat: 'Node', name: 'x_kernel_time', ts: 0, dur: 1, args: { op_name: 'Add', input_type_shape: [{ complex64: [2] }], output_type_shape: [] } };
    expect(() => kernelWork(odd)).toThrow(/complex64/);
    expect(() => kernelWork({ ...odd, args: { op_name: 'Add' } })).toThrow(/no tensor shapes/);
  });
});

describe('a trace split by role', () => {
  // One warm-up run (ignored), then two runs of batch 2 with the same three kernels.
  const trace: ProfileEvent[] = [
    run(0, 100),
    kernel('b4.conv1#conv', 'Conv', 10, 80, [[2, 16, 4, 4], [16, 16, 3, 3]], [2, 16, 4, 4]),
  ];
  for (const t0 of [1000, 2000]) {
    trace.push(
      run(t0, 500),
      kernel('b4.conv1#conv', 'Conv', t0 + 10, 300, [[2, 16, 4, 4], [16, 16, 3, 3]], [2, 16, 4, 4]),
      kernel('b8.conv0#interleave_gather', 'Gather', t0 + 320, 60, [[2, 64, 16], [64]], [2, 64, 16]),
      kernel('node_Mul_1', 'Mul', t0 + 400, 40, [[2, 16, 4, 4], [1, 16, 1, 1]], [2, 16, 4, 4]),
    );
  }
  const roles = roleSplit(trace, 2, 2);
  const by = Object.fromEntries(roles.map((r) => [r.role, r]));

  it('counts only the last runs, per render, each role once in a fixed order', () => {
    expect(roles.map((r) => r.role)).toEqual(['conv', 'blur', 'interleave', 'noise', 'rgb', 'rest']);
    // 2 runs × 300 µs over 4 renders = 150 µs = 0.15 ms (the warm-up's 80 µs left out).
    expect(by.conv.ms).toBeCloseTo(0.15, 12);
    expect(by.conv.nodes).toBe(1);
    // Conv per run: 2 · 512 · 16 · 9 = 147 456 FLOPs; per render over 2 renders: 73 728.
    expect(by.conv.flops).toBe(73_728);
    expect(by.interleave.ms).toBeCloseTo(0.03, 12);
    expect(by.interleave.bytes).toBe((4 * (2048 + 64 + 2048)) / 2);
    expect(by.rest.ms).toBeCloseTo(0.02, 12);
    expect(by.blur).toMatchObject({ ms: 0, nodes: 0, flops: 0, bytes: 0 });
  });

  it('a roofline is each node’s slower of FLOPs at the peak and bytes at the stream rate', () => {
    // conv: 73 728 FLOPs at 1e9 FLOP/s = 73.728 µs; its 4·(512+2304+512)/2 = 6656 B at 1e8 B/s = 66.56 µs.
    expect(rooflineSeconds(by.conv, 1e9, 1e8)).toBeCloseTo(73.728e-6, 15);
    expect(rooflineSeconds(by.conv, 1e9, 1e7)).toBeCloseTo(665.6e-6, 15);
    expect(rooflineSeconds(by.interleave, 1e9, 1e8)).toBeCloseTo(8320 / 1e8, 15);
  });

  it('says when the trace holds fewer runs than asked', () => {
    expect(() => roleSplit(trace, 4, 2)).toThrow(/holds 3 runs, expected at least 4/);
  });
});
