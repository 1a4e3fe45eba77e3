/**
 * `styleatlas site serve` as a user runs it, on a hand-made site folder: MIME types for what the
 * site ships, directory index and redirects, and no way out of the folder (.., encoded .., a
 * symlink). Also `site build`'s refusals that come before Astro starts.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveSite } from '../helpers/browser.ts';
import { cli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir('styleatlas-serve-');
const root = join(tmp, 'site');
const SECRET = 'secret outside the site';
let server: Awaited<ReturnType<typeof serveSite>>;

/** A raw request: fetch() would normalise ".." away before it reached the server. */
function get(path: string, method = 'GET'): Promise<{ status: number; type?: string; location?: string; body: string }> {
  const u = new URL(server.url);
  return new Promise((ok, bad) => {
    const req = request({ host: u.hostname, port: u.port, path, method }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => ok({ status: res.statusCode!, type: res.headers['content-type'], location: res.headers.location, body }));
    });
    req.on('error', bad);
    req.end();
  });
}

beforeAll(async () => {
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>home</title>');
  writeFileSync(join(root, 'sub', 'index.html'), '<!doctype html><title>sub</title>');
  for (const ext of ['wasm', 'onnx', 'webp', 'arrow', 'npz', 'safetensors', 'npy', 'json', 'js', 'css', 'unknownext']) writeFileSync(join(root, `f.${ext}`), 'x');
  writeFileSync(join(tmp, 'secret.txt'), SECRET);
  symlinkSync(join(tmp, 'secret.txt'), join(root, 'link.txt'));
  server = await serveSite(root);
});

afterAll(async () => {
  await server?.stop();
});

describe('styleatlas site serve', () => {
  it('prints a localhost URL and serves pages with their MIME types', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(await get('/')).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' });
    const types: Record<string, string> = {
      wasm: 'application/wasm', onnx: 'application/octet-stream', webp: 'image/webp', arrow: 'application/vnd.apache.arrow.file',
      npz: 'application/zip', safetensors: 'application/octet-stream', npy: 'application/octet-stream',
      json: 'application/json; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', unknownext: 'application/octet-stream',
    };
    for (const [ext, type] of Object.entries(types)) expect((await get(`/f.${ext}`)).type, ext).toBe(type);
    expect(await get('/sub')).toMatchObject({ status: 301, location: '/sub/' });
    expect((await get('/sub/')).body).toContain('<title>sub</title>');
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/', 'POST')).status).toBe(405);
    expect((await get('/f.wasm', 'HEAD')).status).toBe(200);
  });

  it('serves nothing outside its folder', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/sub/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/link.txt', '/%00', '/%']) {
      const r = await get(path);
      expect(r.status, path).not.toBe(200);
      expect(r.body, path).not.toContain(SECRET);
    }
  });

  it('stops on Ctrl-C (SIGINT) with status 0', async () => {
    const s = await serveSite(root);
    const exit = new Promise<number | null>((ok) => s.child.once('exit', (code) => ok(code)));
    s.child.kill('SIGINT');
    expect(await exit).toBe(0);
  });
});

describe('styleatlas site build refuses bad input before starting Astro', () => {
  it('needs --catalogue, and a folder that holds a catalogue', () => {
    expect(cli(['site', 'build'], { cwd: tmp }).stderr).toMatch(/E_USAGE: --catalogue is required/);
    expect(cli(['site', 'build', '--catalogue', join(tmp, 'none')], { cwd: tmp }).stderr).toMatch(/E_MISSING: .*none has no catalogue\.sqlite/);
  });
});
