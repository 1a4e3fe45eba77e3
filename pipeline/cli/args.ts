/** Typed readers for parsed option values; each failure is an E_USAGE/E_INPUT error naming the option. */
import { fail } from '../core/errors.ts';
import type { CommandContext } from './command.ts';

type Values = CommandContext['values'];

export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') fail('E_USAGE', `--${name} takes a value`);
  return v;
}

export function requireStr(values: Values, name: string): string {
  const v = str(values, name);
  if (v === undefined || v === '') fail('E_USAGE', `--${name} is required`, `see --help`);
  return v;
}

export function num(values: Values, name: string, dflt: number, range?: [number, number]): number {
  const raw = str(values, name);
  if (raw === undefined) return dflt;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) fail('E_INPUT', `--${name}: "${raw}" is not a number`);
  if (range && (v < range[0] || v > range[1])) {
    fail('E_INPUT', `--${name}: ${v} is outside [${range[0]}, ${range[1]}]`);
  }
  return v;
}

export function int(values: Values, name: string, dflt: number, range?: [number, number]): number {
  const v = num(values, name, dflt, range);
  if (!Number.isInteger(v)) fail('E_INPUT', `--${name}: ${v} is not an integer`);
  return v;
}

export function flag(values: Values, name: string): boolean {
  return values[name] === true;
}

/** "0-7", "3", "0,4,9-11" → sorted unique non-negative integers. */
export function parseIntList(raw: string, what: string): number[] {
  const out = new Set<number>();
  for (const part of raw.split(',')) {
    const p = part.trim();
    const m = /^(\d+)(?:-(\d+))?$/.exec(p);
    if (!m) fail('E_INPUT', `${what}: "${p}" is not an integer or a range A-B`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) fail('E_INPUT', `${what}: range ${p} is empty`);
    if (b - a > 1_000_000) fail('E_INPUT', `${what}: range ${p} is too large`);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

/** "-4,-2,0,2,4" → numbers, in the given order. */
export function parseNumberList(raw: string, what: string): number[] {
  const parts = raw.split(',').map((s) => s.trim());
  return parts.map((p) => {
    const v = Number(p);
    if (p === '' || !Number.isFinite(v)) fail('E_INPUT', `${what}: "${p}" is not a number`);
    return v;
  });
}
