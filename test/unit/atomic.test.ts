/**
 * Atomic outputs (store/atomic.ts): a folder is replaced only once the new one is whole, a failure
 * at any point leaves the previous output in place, and what a killed writer left (a temporary,
 * or the previous output moved aside between the two renames of a swap) is put right by the next
 * writer. A write that fails removes its temporary file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replaceDir, writeDirAtomic, writeFileAtomic } from '../../pipeline/store/atomic.ts';
import { expectCode } from '../helpers/builds.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir('styleatlas-atomic-');
let n = 0;
/** A pid that was a process and is no longer one. */
const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;

function previous(): { root: string; out: string } {
  const root = join(tmp, `case-${n++}`);
  const out = join(root, 'out');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'a.txt'), 'old');
  return { root, out };
}

describe('writeDirAtomic', () => {
  it('replaces a folder whole, and leaves nothing beside it', async () => {
    const { root, out } = previous();
    await writeDirAtomic(out, (d) => writeFileSync(join(d, 'b.txt'), 'new'));
    expect(readdirSync(out)).toEqual(['b.txt']);
    expect(readdirSync(root)).toEqual(['out']);
  });

  it('a fill that fails leaves the previous folder as it was', async () => {
    const { root, out } = previous();
    await expect(writeDirAtomic(out, () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('old');
    expect(readdirSync(root)).toEqual(['out']);
  });

  it('a writer killed between the two renames: the next one puts the previous folder back first', async () => {
    const { root, out } = previous();
    // What a kill -9 after "old → aside" and before "new → out" leaves: no out, the old one aside,
    // the finished new one still under its temporary name.
    const aside = join(root, `out.old-${deadPid}-abc123`);
    spawnSync('mv', [out, aside]);
    mkdirSync(join(root, `out.tmp-${deadPid}-def456`));
    await expect(writeDirAtomic(out, () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('old');
    expect(readdirSync(root)).toEqual(['out']);
  });

  it('a writer killed after the swap: the next one removes the old folder it left', async () => {
    const { root, out } = previous();
    mkdirSync(join(root, `out.old-${deadPid}-abc123`));
    await writeDirAtomic(out, (d) => writeFileSync(join(d, 'b.txt'), 'new'));
    expect(readdirSync(root)).toEqual(['out']);
  });

  it('a second rename that fails puts the previous folder back', () => {
    const { root, out } = previous();
    expect(() => replaceDir(join(root, 'not-there'), out)).toThrow(/ENOENT/);
    expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('old');
    expect(readdirSync(root)).toEqual(['out']);
  });

  it('a file where the folder goes is refused (E_OUTPUT), and left alone', async () => {
    const { root } = previous();
    writeFileSync(join(root, 'file'), 'mine');
    await expectCode(writeDirAtomic(join(root, 'file'), () => {}), 'E_OUTPUT', /file is a file, not a folder/);
    expect(readFileSync(join(root, 'file'), 'utf8')).toBe('mine');
    expect(readdirSync(root)).toEqual(['file', 'out']);
  });
});

describe('writeFileAtomic', () => {
  it('a directory at the path: E_OUTPUT, and no temporary file left behind', async () => {
    const { root, out } = previous();
    await expectCode(() => writeFileAtomic(out, 'x'), 'E_OUTPUT', /cannot write .*out: it is a directory \(EISDIR\)/);
    expect(readdirSync(root)).toEqual(['out']);
    expect(existsSync(join(out, 'a.txt'))).toBe(true);
  });

  it('a file where its folder goes: E_OUTPUT naming the reason', async () => {
    const { root } = previous();
    writeFileSync(join(root, 'f'), 'x');
    await expectCode(() => writeFileAtomic(join(root, 'f', 'g.txt'), 'x'), 'E_OUTPUT', /a part of the path is a file, not a folder \((ENOTDIR|EEXIST)\)/);
  });
});
