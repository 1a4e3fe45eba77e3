/**
 * The live page's large files (text tower, relevance table): downloaded with progress, checked
 * against the sha256 the page was built with, and kept in the browser's Cache API under that
 * sha256, so a second visit reads them from the cache at once (checked again). A failed download,
 * a wrong size or a sha256 mismatch is an error (E_MISSING, E_CHECKSUM), never ignored; a cache
 * the browser refuses (no Cache API, storage full) is reported through `onNote`.
 */
import { fail } from '../../../../pipeline/core/errors.ts';
import { sha256Hex } from '../../../../pipeline/core/sha256.ts';

export interface AssetRef {
  url: string;
  bytes: number;
  sha256: string;
  /** Names the file in progress lines and errors. */
  label: string;
}

export interface AssetProgress {
  label: string;
  loaded: number;
  total: number;
  fromCache: boolean;
}

export interface AssetHooks {
  onProgress?: (p: AssetProgress) => void;
  onNote?: (message: string) => void;
}

const CACHE_NAME = 'styleatlas-live-v1';

async function sha256(bytes: Uint8Array): Promise<string> {
  if (globalThis.crypto?.subtle) {
    const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
  }
  return sha256Hex(bytes);
}

/** The cache key: the content's sha256, so the same bytes under another URL are one entry. */
const cacheKey = (sha: string) => new URL(`/.styleatlas-cache/sha256/${sha}`, location.origin).href;

async function openCache(hooks: AssetHooks): Promise<Cache | undefined> {
  if (typeof caches === 'undefined') {
    hooks.onNote?.('this browser gives the page no Cache API (it needs https or localhost): files are downloaded on every visit');
    return undefined;
  }
  try {
    return await caches.open(CACHE_NAME);
  } catch (e) {
    hooks.onNote?.(`the browser refused its cache (${(e as Error).message}): files are downloaded on every visit`);
    return undefined;
  }
}

async function download(ref: AssetRef, hooks: AssetHooks): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(ref.url, { cache: 'no-store' });
  } catch (e) {
    return fail('E_MISSING', `${ref.label}: the download of ${ref.url} failed (${(e as Error).message})`, 'reload the page to try again');
  }
  if (!res.ok) fail('E_MISSING', `${ref.label}: ${ref.url} answered HTTP ${res.status}`, 'reload the page to try again');
  const out = new Uint8Array(ref.bytes);
  let loaded = 0;
  const reader = res.body?.getReader();
  if (!reader) {
    const all = new Uint8Array(await res.arrayBuffer());
    if (all.length !== ref.bytes) fail('E_CHECKSUM', `${ref.label}: ${ref.url} has ${all.length} bytes, the page expects ${ref.bytes}`);
    hooks.onProgress?.({ label: ref.label, loaded: all.length, total: ref.bytes, fromCache: false });
    return all;
  }
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > ref.bytes) {
      await reader.cancel();
      fail('E_CHECKSUM', `${ref.label}: ${ref.url} is larger than the ${ref.bytes} bytes the page expects`);
    }
    out.set(value, loaded);
    loaded += value.length;
    hooks.onProgress?.({ label: ref.label, loaded, total: ref.bytes, fromCache: false });
  }
  if (loaded !== ref.bytes) fail('E_CHECKSUM', `${ref.label}: ${ref.url} ended after ${loaded} of ${ref.bytes} bytes`, 'reload the page to try again');
  return out;
}

/** The bytes of `ref`: from the cache when an intact copy is there, else downloaded, checked and kept. */
export async function loadAsset(ref: AssetRef, hooks: AssetHooks = {}): Promise<Uint8Array> {
  const cache = await openCache(hooks);
  const key = cacheKey(ref.sha256);
  const hit = await cache?.match(key);
  if (hit) {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    if (bytes.length === ref.bytes && (await sha256(bytes)) === ref.sha256) {
      hooks.onProgress?.({ label: ref.label, loaded: bytes.length, total: ref.bytes, fromCache: true });
      return bytes;
    }
    hooks.onNote?.(`${ref.label}: the cached copy was damaged; downloading it again`);
    await cache!.delete(key);
  }
  const bytes = await download(ref, hooks);
  const got = await sha256(bytes);
  if (got !== ref.sha256) fail('E_CHECKSUM', `${ref.label}: ${ref.url} has sha256 ${got.slice(0, 12)}…, the page expects ${ref.sha256.slice(0, 12)}…`, 'the site may be half-updated: reload the page');
  try {
    await cache?.put(key, new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/octet-stream' } }));
  } catch (e) {
    hooks.onNote?.(`${ref.label} is not kept for the next visit: ${(e as Error).message}`);
  }
  return bytes;
}
