/**
 * Output paths that cannot be used, as a user meets them: an --out that is a file where a folder
 * goes (relevance, merge, catalogue, export reference), a folder where a file goes (edit, render,
 * stats), a path through a file; and `site serve` on a port that is taken or a host that is not this machine's. Each is a
 * coded error that says what to do, before any work, and leaves everything as it was.
 * (A full disk and a read-only folder need a small or read-only mount, which needs root, so they
 * are not here; they go through the same mapping, store/output-errors.ts.)
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelDir } from '../helpers/bundles.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir('styleatlas-out-');
const file = join(tmp, 'a-file');
const tiny = ['--generator', modelDir('tiny'), '--encoder', modelDir('colour-world')];
const before = () => ({ names: readdirSync(tmp).sort(), file: readFileSync(file, 'utf8') });

beforeAll(() => {
  writeFileSync(file, 'mine');
  mkdirSync(join(tmp, 'a-folder.png'));
});

function refused(args: string[], re: RegExp): void {
  const was = before();
  const r = cli(args, { cwd: tmp });
  expect(r.stderr).toMatch(re);
  expect(r.stderr).toMatch(/\n {2}hint: /);
  expect(r.status).toBe(1);
  expect(before()).toEqual(was);
  expect(readdirSync(join(tmp, 'a-folder.png'))).toEqual([]);
}

describe('--out that cannot be used: E_OUTPUT before any work, nothing written', () => {
  it('a file where the output folder goes: relevance, merge, catalogue', () => {
    refused(['relevance', ...tiny, '--out', file, '--samples', '2'], /^E_OUTPUT: .*a-file is a file, not a folder/);
    refused(['merge', '--out', file, join(tmp, 'shard-0'), join(tmp, 'shard-1')], /^E_OUTPUT: .*a-file is a file, not a folder/);
    refused(['catalogue', '--build', join(tmp, 'no-build'), '--prompts', 'colour-world', '--out', file], /^E_OUTPUT: .*a-file is a file, not a folder/);
    refused(['export', 'reference', '--build', join(tmp, 'no-build'), '--out', file], /^E_OUTPUT: .*a-file is a file, not a folder/);
  });

  it('an output folder under a file', () => {
    refused(['relevance', ...tiny, '--out', join(file, 'build'), '--samples', '2'], /^E_OUTPUT: cannot write .*a-file\/build: .*a-file is a file, not a folder/);
    refused(['catalogue', '--build', join(tmp, 'no-build'), '--prompts', 'colour-world', '--out', join(file, 'cat')], /^E_OUTPUT: cannot write .*a-file\/cat/);
  });

  it('a folder where the output file goes: edit, render, stats', () => {
    const folder = join(tmp, 'a-folder.png');
    refused(['stats', '--generator', modelDir('tiny'), '--samples', '10', '--out', folder], /^E_OUTPUT: .*a-folder\.png is a directory, not a file/);
    refused(['edit', '--build', join(tmp, 'no-build'), '--neutral', 'photo', '--target', 'red photo', '--out', folder], /^E_OUTPUT: .*a-folder\.png is a directory, not a file/);
    refused(['render', '--generator', modelDir('tiny'), '--seeds', '0', '--out', folder], /^E_OUTPUT: .*a-folder\.png is a directory, not a file/);
    refused(['render', '--generator', modelDir('tiny'), '--seeds', '0', '--out', join(file, 'grid.png')], /^E_OUTPUT: cannot write .*a-file\/grid\.png: .*a-file is a file, not a folder/);
  });
});

describe('site serve: a port that is taken, a host that is not here', () => {
  let taken: Server;
  let port = 0;
  const site = join(tmp, 'site');

  beforeAll(async () => {
    mkdirSync(site);
    writeFileSync(join(site, 'index.html'), '<!doctype html><title>x</title>');
    taken = createServer();
    await new Promise<void>((ok) => taken.listen(0, '127.0.0.1', () => ok()));
    port = (taken.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise<void>((ok) => taken.close(() => ok()));
  });

  it('a port in use is E_INPUT naming it, with a way out', () => {
    const r = cli(['site', 'serve', '--dir', site, '--port', String(port)], { cwd: tmp });
    expect(r.stderr).toMatch(new RegExp(`^E_INPUT: port ${port} on 127\\.0\\.0\\.1 is in use by another program \\(EADDRINUSE\\)\\n {2}hint: .*--port 0`));
    expect(r.status).toBe(1);
  });

  it('a host that does not resolve, or is not this machine, is E_INPUT', () => {
    const bad = cli(['site', 'serve', '--dir', site, '--port', '0', '--host', '999.1.1.1'], { cwd: tmp });
    expect(bad.stderr).toMatch(/^E_INPUT: --host 999\.1\.1\.1 is not a name or address this machine can resolve/);
    expect(bad.status).toBe(1);
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of a real machine.
    const elsewhere = cli(['site', 'serve', '--dir', site, '--port', '0', '--host', '192.0.2.1'], { cwd: tmp });
    expect(elsewhere.stderr).toMatch(/^E_INPUT: --host 192\.0\.2\.1 is not an address of this machine \(EADDRNOTAVAIL\)/);
    expect(elsewhere.status).toBe(1);
  });
});
