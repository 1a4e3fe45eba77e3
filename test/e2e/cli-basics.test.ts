import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commands } from '../../pipeline/cli/commands/index.ts';
import { decodeRGB } from '../../pipeline/store/images.ts';
import { modelDir } from '../helpers/bundles.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();

describe('styleatlas CLI', () => {
  it('--help lists every command, and every command has its own --help', () => {
    const top = cli(['--help']);
    expect(top.status).toBe(0);
    for (const c of commands) {
      expect(top.stdout).toContain(c.path.join(' '));
      const h = cli([...c.path, '--help']);
      expect(h.status, c.path.join(' ')).toBe(0);
      expect(h.stdout).toContain(`Usage: styleatlas ${c.path.join(' ')}`);
    }
  });

  it('an unknown command or option exits 2 with E_USAGE', () => {
    const a = cli(['frobnicate']);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/E_USAGE: unknown command/);
    const b = cli(['render', '--bogus']);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/E_USAGE/);
  });

  it('render writes a contact sheet of distinct images', async () => {
    const out = join(tmp, 'grid.png');
    const r = cli(['render', '--generator', modelDir('tiny'), '--seeds', '0-3', '--psi', '0.7', '--out', out, '--scale', '1']);
    expect(r.status, r.stderr).toBe(0);
    const img = await decodeRGB(readFileSync(out));
    // 4 tiles of 64 px with 2 px gaps: 4·64 + 5·2
    expect([img.width, img.height]).toEqual([266, 68]);
    const tile = (i: number) => {
      const t: number[] = [];
      for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) for (let c = 0; c < 3; c++) t.push(img.data[((2 + y) * img.width + 2 + i * 66 + x) * 3 + c]);
      return t;
    };
    const tiles = [0, 1, 2, 3].map(tile);
    for (let i = 1; i < 4; i++) {
      const diff = tiles[i].reduce((s, v, k) => s + Math.abs(v - tiles[0][k]), 0) / tiles[i].length;
      expect(diff, `tile ${i} vs tile 0`).toBeGreaterThan(5);
    }
  });

  it('bad values are coded errors and write nothing', () => {
    const out = join(tmp, 'bad.png');
    const r = cli(['render', '--generator', modelDir('tiny'), '--psi', '1.5', '--out', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/E_INPUT: --psi: 1.5 is outside \[0, 1\]/);
    const s = cli(['render', '--generator', modelDir('tiny'), '--seeds', '3-1', '--out', out]);
    expect(s.stderr).toMatch(/E_INPUT: --seeds: range 3-1 is empty/);
    const d = cli(['render', '--generator', modelDir('tiny'), '--device', 'tpu', '--out', out]);
    expect(d.stderr).toMatch(/unknown device "tpu"; valid devices: cpu, cuda, webgpu/);
    expect(existsSync(out)).toBe(false);
  });
});
