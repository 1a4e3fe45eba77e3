/**
 * Files the static site serves beside its pages: the catalogue's assets/ (galleries, downloads,
 * browser-sized models), copied into the output. (onnxruntime-web's wasm file is emitted by the
 * site's own bundler, see site/src/scripts/live/runtime.ts.)
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fail } from '../core/errors.ts';

/** Copy a file unless the destination already has the same size and is not older. */
function copyIfNewer(src: string, dst: string): boolean {
  if (existsSync(dst)) {
    const a = statSync(src);
    const b = statSync(dst);
    if (a.size === b.size && b.mtimeMs >= a.mtimeMs) return false;
  }
  mkdirSync(dirname(dst), { recursive: true });
  copyFileSync(src, dst);
  return true;
}

/**
 * Copy `<catalogue>/assets` to `<out>/assets`. Only regular files and folders are copied:
 * a symlink in the catalogue could otherwise publish any file of the building machine.
 */
export function copyCatalogueAssets(catalogueDir: string, outDir: string): { files: number; copied: number; skipped: string[] } {
  const src = join(catalogueDir, 'assets');
  if (!existsSync(src)) fail('E_MISSING', `${catalogueDir} has no assets/ folder`, 'build the catalogue with `styleatlas catalogue`');
  const result = { files: 0, copied: 0, skipped: [] as string[] };
  const walk = (rel: string) => {
    for (const name of readdirSync(join(src, rel))) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(join(src, r));
      if (st.isDirectory()) walk(r);
      else if (st.isFile() && !name.includes('.tmp-')) {
        result.files++;
        if (copyIfNewer(join(src, r), join(outDir, 'assets', r))) result.copied++;
      } else result.skipped.push(r);
    }
  };
  walk('');
  return result;
}
