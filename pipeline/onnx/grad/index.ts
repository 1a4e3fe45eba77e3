export { type GradientGraph, type GradientRequest, differentiate } from './differentiate.ts';
export { differentiableOps } from './rules/index.ts';
