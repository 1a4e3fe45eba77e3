/**
 * Adam with the official schedule against torch.optim.Adam (/usr/bin/python3): 300 steps on a
 * badly conditioned quadratic, the learning rate set before each step as run_optimization.py does.
 */
import { expect, it } from 'vitest';
import { Adam, officialLearningRate } from '../../pipeline/core/adam.ts';
import { relErr } from '../helpers/numeric.ts';
import { python } from '../helpers/python.ts';

const N = 16;
const STEPS = 300;
const scale = Array.from({ length: N }, (_, i) => 10 ** ((i % 4) - 2)); // curvatures 0.01 … 10
const centre = Array.from({ length: N }, (_, i) => Math.cos(i) * 2);

const TORCH = `
import json, math, sys, torch
a, c, steps = json.loads(sys.stdin.read())
a, c = torch.tensor(a), torch.tensor(c)
p = torch.zeros(len(a), requires_grad=True)
opt = torch.optim.Adam([p], lr=0.1)
trace = []
for i in range(steps):
    t = i / steps
    ramp = 0.5 - 0.5 * math.cos(min(1, (1 - t) / 0.25) * math.pi)
    opt.param_groups[0]['lr'] = 0.1 * ramp * min(1, t / 0.05)
    loss = 0.5 * (a * (p - c) ** 2).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if i % 50 == 49:
        trace.append(p.detach().tolist())
print(json.dumps(trace))
`;

it('matches torch.optim.Adam with the official learning-rate schedule over 300 steps', () => {
  const torchTrace: number[][] = JSON.parse(python(TORCH, [], { input: JSON.stringify([scale, centre, STEPS]) }));
  const p = new Float32Array(N);
  const adam = new Adam(N);
  const trace: number[][] = [];
  for (let i = 0; i < STEPS; i++) {
    const grad = Array.from(p, (v, k) => scale[k] * (v - centre[k]));
    adam.step(p, grad, officialLearningRate(i / STEPS, 0.1));
    if (i % 50 === 49) trace.push(Array.from(p));
  }
  const errors = trace.map((t, k) => relErr(t, torchTrace[k]));
  console.log(`Adam vs torch (relative error every 50 steps): ${errors.map((e) => e.toExponential(1)).join(', ')}`);
  for (const e of errors) expect(e).toBeLessThan(1e-5);
  expect(relErr(trace[0], trace[5])).toBeGreaterThan(0.01); // it moved
});
