/**
 * onnxruntime-node reads ORT_DISABLE_TELEMETRY when it loads, so every module that loads it must
 * import ort-privacy.mjs first (test/e2e/leaves-nothing.test.ts shows the effect on HOME/TMPDIR).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/bundles.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) return [];
    const p = join(dir, e.name);
    return e.isDirectory() ? sources(p) : /\.(m?[jt]s|astro)$/.test(e.name) ? [p] : [];
  });
}

const LOADS_ORT = /(?:from\s+|import\s*\(\s*|require\s*\(\s*)'onnxruntime-node'/;

describe('telemetry is off before onnxruntime-node loads', () => {
  it('only the runtime adapter loads onnxruntime-node, and it imports ort-privacy.mjs first', () => {
    const files = ['bin', 'pipeline', 'scripts', 'site', 'test'].flatMap((d) => sources(join(REPO, d)));
    const loaders = files.filter((f) => LOADS_ORT.test(readFileSync(f, 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '')));
    expect(loaders.map((f) => relative(REPO, f)).sort()).toEqual(['pipeline/models/runtime-worker.mjs', 'pipeline/models/runtime.ts']);
    for (const f of loaders) {
      const src = readFileSync(f, 'utf8');
      const privacy = src.search(/^import '\.\/ort-privacy\.mjs';/m);
      expect(privacy, f).toBeGreaterThanOrEqual(0);
      expect(privacy, f).toBeLessThan(src.search(LOADS_ORT));
    }
  });

  it('ort-privacy.mjs sets ORT_DISABLE_TELEMETRY=1 and keeps a value the user set', () => {
    const probe = (value: string | undefined) => {
      const env: Record<string, string | undefined> = { ...process.env, ORT_DISABLE_TELEMETRY: value };
      if (value === undefined) delete env.ORT_DISABLE_TELEMETRY;
      const code = `await import(${JSON.stringify(join(REPO, 'pipeline/models/ort-privacy.mjs'))}); process.stdout.write(String(process.env.ORT_DISABLE_TELEMETRY));`;
      return spawnSync(process.execPath, ['--input-type=module', '-e', code], { env, encoding: 'utf8' }).stdout;
    };
    expect(probe(undefined)).toBe('1');
    expect(probe('0')).toBe('0');
    expect(probe('1')).toBe('1');
  });
});
