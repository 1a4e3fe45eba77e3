/**
 * Reverse-mode differentiation of an ONNX graph written by StyleAtlas's builder: one graph that
 * computes the forward values, the scalar loss and the loss's gradient with respect to chosen
 * graph inputs and/or initializers (which then become inputs, so a caller can train them).
 *
 * Steps: type every value (the rules' forward typing), find the active nodes (those on a path
 * from a differentiated value to the loss, with float outputs), copy the forward nodes the loss
 * and the kept outputs need, then walk the active nodes backwards, each rule turning its outputs'
 * cotangents into its inputs' (contributions to one value are summed). An active operator without
 * a rule is refused by name before anything is built.
 */
import { fail } from '../../core/errors.ts';
import { type Dim, GraphBuilder, type Tensor } from '../graph.ts';
import { Backward, isFloat } from './backward.ts';
import { type ModelView, type RawTensor, dtypeOfCode, tensorNumbers, toNumber, viewModel } from './model.ts';
import { RULES, differentiableOps } from './rules/index.ts';
import type { Meta } from './shapes.ts';

export interface GradientRequest {
  /** The scalar value (shape []) to differentiate. */
  loss: string;
  /** Graph inputs and/or initializers; initializers become inputs of the gradient graph. */
  wrt: readonly string[];
  /** Forward values to return as well: output name → value name. */
  keep?: Readonly<Record<string, string>>;
  /** Output name of the loss (default 'loss'). */
  lossOutput?: string;
  /** Output name of each gradient (default `grad_<name>`). */
  gradOutput?: (name: string) => string;
  /** Name of the gradient graph. */
  name?: string;
}

export interface GradientGraph {
  builder: GraphBuilder;
  lossOutput: string;
  /** Differentiated value → output name of its gradient. */
  gradOutputs: Record<string, string>;
  /** Initial values of the initializers that became inputs. */
  parameters: Map<string, Tensor>;
}

function initializerMeta(t: RawTensor, name: string): Meta {
  const dtype = dtypeOfCode(t.data_type ?? 0, `initializer ${name}`);
  const dims = (t.dims ?? []).map(toNumber);
  const count = dims.reduce((a, b) => a * b, 1);
  const meta: Meta = { dtype, shape: dims };
  if (count <= 64 && dtype !== 'float16') meta.value = Array.from(tensorNumbers(t, `initializer ${name}`).values);
  return meta;
}

function initializerTensor(t: RawTensor, name: string): Tensor {
  const { dtype, dims, values } = tensorNumbers(t, `initializer ${name}`);
  if (dtype !== 'float32' && dtype !== 'float64') fail('E_GRAD', `initializer ${name} is ${dtype}; only float initializers can be differentiated`);
  return { dtype, dims, data: dtype === 'float32' ? Float32Array.from(values) : values };
}

/** Values reachable forwards from `from` (through any node). */
function reachForward(m: ModelView, from: Iterable<string>): Set<string> {
  const seen = new Set(from);
  for (const n of m.nodes) if (n.inputs.some((i) => seen.has(i))) n.outputs.forEach((o) => seen.add(o));
  return seen;
}

/** Values (and node indices) that `targets` depend on. */
function reachBackward(m: ModelView, targets: Iterable<string>): { values: Set<string>; nodes: Set<number> } {
  const values = new Set(targets);
  const nodes = new Set<number>();
  for (let k = m.nodes.length - 1; k >= 0; k--) {
    const n = m.nodes[k];
    if (!n.outputs.some((o) => values.has(o))) continue;
    nodes.add(k);
    n.inputs.forEach((i) => i && values.add(i));
  }
  return { values, nodes };
}

export function differentiate(model: GraphBuilder | Uint8Array, req: GradientRequest, label = 'model'): GradientGraph {
  const m = viewModel(model, label);
  const inputNames = new Set(m.inputs.map((i) => i.name));
  for (const w of req.wrt) {
    if (!inputNames.has(w) && !m.initializers.has(w)) fail('E_GRAD', `${label}: ${w} is neither a graph input nor an initializer`);
  }
  const keep = req.keep ?? {};
  const varied = reachForward(m, req.wrt);
  const useful = reachBackward(m, [req.loss]);
  const needed = reachBackward(m, [req.loss, ...Object.values(keep)]);
  const maybeActive = (k: number) => useful.nodes.has(k) && m.nodes[k].inputs.some((i) => varied.has(i));

  // 1. Types and shapes, in graph order.
  const meta = new Map<string, Meta>();
  for (const i of m.inputs) meta.set(i.name, { dtype: i.dtype, shape: i.shape });
  for (const [name, t] of m.initializers) meta.set(name, initializerMeta(t, name));
  const untyped = new Map<string, string>(); // outputs of operators without a rule → what made them
  m.nodes.forEach((n, k) => {
    const rule = RULES[n.op];
    if (!rule) {
      if (maybeActive(k)) fail('E_GRAD', `${label}: cannot differentiate through ${n.op} (node ${n.name}): no gradient rule; operators with one: ${differentiableOps().join(', ')}`);
      n.outputs.forEach((o) => untyped.set(o, `${n.op} (node ${n.name})`));
      return;
    }
    const unknown = n.inputs.find((i) => i && untyped.has(i));
    if (unknown && maybeActive(k)) {
      fail('E_GRAD', `${label}: ${n.op} (node ${n.name}) is on the gradient's path and reads ${unknown}, made by ${untyped.get(unknown)}, which StyleAtlas has no rule for (not even its shape)`);
    }
    let outs: Meta[];
    try {
      outs = rule.infer(n, n.inputs.map((i) => (i ? meta.get(i) : undefined)), label);
    } catch (e) {
      if (maybeActive(k)) throw e;
      return; // off the gradient's path: its types are not needed
    }
    n.outputs.forEach((o, j) => outs[j] && o && meta.set(o, outs[j]));
  });
  const active = (v: string) => varied.has(v) && useful.values.has(v) && isFloat(meta.get(v)?.dtype ?? 'int64');
  const lossMeta = meta.get(req.loss);
  if (!lossMeta) fail('E_GRAD', `${label}: the loss ${req.loss} is not a value of the graph`);
  if (!lossMeta.shape || lossMeta.shape.length !== 0) fail('E_GRAD', `${label}: the loss ${req.loss} must be a scalar (shape []), found [${lossMeta.shape?.join(', ') ?? 'unknown'}]`);
  const activeNodes = m.nodes.map((n, k) => useful.nodes.has(k) && n.outputs.some(active));
  m.nodes.forEach((n, k) => {
    if (activeNodes[k] && !RULES[n.op].vjp) fail('E_GRAD', `${label}: cannot differentiate through ${n.op} (node ${n.name}): it has no derivative rule; operators with one: ${differentiableOps().join(', ')}`);
  });

  // 2. The forward part: what the loss and the kept outputs need.
  const g = new GraphBuilder(req.name ?? `${label}_gradient`);
  const parameters = new Map<string, Tensor>();
  for (const i of m.inputs) {
    if (!needed.values.has(i.name) && !req.wrt.includes(i.name)) continue;
    if (!i.shape) fail('E_GRAD', `${label}: graph input ${i.name} declares no shape`);
    g.input(i.name, i.dtype, i.shape);
  }
  for (const [name, t] of m.initializers) {
    if (req.wrt.includes(name)) {
      const tensor = initializerTensor(t, name);
      parameters.set(name, tensor);
      g.input(name, tensor.dtype, tensor.dims);
    } else if (needed.values.has(name)) g.rawInitializer(name, t);
  }
  m.nodes.forEach((n, k) => needed.nodes.has(k) && g.rawNode(n.raw));

  // 3. The backward sweep.
  const b = new Backward(g, (v) => meta.get(v), label);
  const contributions = new Map<string, string[]>([[req.loss, [b.scalar(1, lossMeta.dtype)]]]);
  const cotangent = (v: string) => {
    const c = contributions.get(v);
    return c && c.length > 0 ? b.sum(c) : undefined;
  };
  for (let k = m.nodes.length - 1; k >= 0; k--) {
    if (!activeNodes[k]) continue;
    const n = m.nodes[k];
    const dys = n.outputs.map((o) => (active(o) ? cotangent(o) : undefined));
    if (dys.every((d) => d === undefined)) continue;
    const need = n.inputs.map((i) => Boolean(i) && active(i));
    const dxs = RULES[n.op].vjp!(b, n, dys, need);
    n.inputs.forEach((i, j) => {
      if (!need[j] || !dxs[j]) return;
      const list = contributions.get(i) ?? [];
      list.push(dxs[j]!);
      contributions.set(i, list);
    });
  }

  // 4. Outputs: the loss, the kept values, the gradients.
  const lossOutput = req.lossOutput ?? 'loss';
  g.output(req.loss, lossOutput, lossMeta.dtype, []);
  for (const [name, v] of Object.entries(keep)) {
    const mv = meta.get(v) ?? m.outputs.find((o) => o.name === v);
    if (!mv) fail('E_GRAD', `${label}: kept value ${v} is not a value of the graph with a known type`);
    g.output(v, name, mv.dtype, mv.shape as Dim[] | undefined);
  }
  const gradOutputs: Record<string, string> = {};
  for (const w of req.wrt) {
    const name = req.gradOutput?.(w) ?? `grad_${w}`;
    const mw = meta.get(w)!;
    g.output(cotangent(w) ?? b.zerosLike(w), name, mw.dtype, mw.shape);
    gradOutputs[w] = name;
  }
  return { builder: g, lossOutput, gradOutputs, parameters };
}
