/**
 * A small static file server for the built site (node:http): GET and HEAD only, MIME types for
 * everything the site ships (wasm, onnx, webp, arrow, npz, safetensors), and no way out of the
 * site folder — neither by "..", encoded or not, nor by a symlink.
 */
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { extname, join, posix, sep } from 'node:path';
import { fail } from '../core/errors.ts';

export const MIME: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.arrow': 'application/vnd.apache.arrow.file',
  '.npy': 'application/octet-stream',
  '.npz': 'application/zip',
  '.safetensors': 'application/octet-stream',
});

export type Resolved = { kind: 'file'; path: string } | { kind: 'redirect'; location: string } | { kind: 'missing' } | { kind: 'bad' };

/** Map a request path to a file under `root` (a real path), or say why not. */
export function resolveRequest(root: string, rawPath: string): Resolved {
  let path: string;
  try {
    path = decodeURIComponent(rawPath.split('?')[0].split('#')[0]);
  } catch {
    return { kind: 'bad' };
  }
  if (path.includes('\0') || path.includes('\\') || !path.startsWith('/')) return { kind: 'bad' };
  // posix.normalize of an absolute path cannot climb above "/", so ".." stays inside the root.
  const clean = posix.normalize(path);
  let file = join(root, ...clean.split('/').filter(Boolean));
  if (!existsSync(file)) return { kind: 'missing' };
  if (statSync(file).isDirectory()) {
    if (!clean.endsWith('/')) return { kind: 'redirect', location: `${clean}/` };
    file = join(file, 'index.html');
    if (!existsSync(file)) return { kind: 'missing' };
  }
  const real = realpathSync(file);
  if (real !== root && !real.startsWith(root + sep)) return { kind: 'missing' };
  return statSync(real).isFile() ? { kind: 'file', path: real } : { kind: 'missing' };
}

export function createStaticServer(dir: string): Server {
  if (!existsSync(join(dir, 'index.html'))) fail('E_MISSING', `${dir} has no index.html: not a built site`, 'build it with `styleatlas site build --catalogue DIR`');
  const root = realpathSync(dir);
  return createServer((req, res) => {
    const send = (status: number, text: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    const r = resolveRequest(root, req.url ?? '/');
    if (r.kind === 'bad') return send(400, 'bad request\n');
    if (r.kind === 'missing') return send(404, 'not found\n');
    if (r.kind === 'redirect') return send(301, `moved to ${r.location}\n`, { Location: r.location });
    const size = statSync(r.path).size;
    res.writeHead(200, {
      'Content-Type': MIME[extname(r.path).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': String(size),
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(r.path)
      .on('error', () => res.destroy())
      .pipe(res);
  });
}
