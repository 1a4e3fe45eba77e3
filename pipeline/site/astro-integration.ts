/**
 * The Astro side of the site build: checks the catalogue before any page is rendered, lets
 * browser bundles import the pipeline's shared modules, and copies the catalogue's assets into
 * the output when the pages are done.
 */
import { fileURLToPath } from 'node:url';
import type { AstroIntegration } from 'astro';
import { fail } from '../core/errors.ts';
import { readSiteCatalogue } from './catalogue-data.ts';
import { copyCatalogueAssets } from './site-assets.ts';

const STUB = '\0styleatlas-node-stub:';

/**
 * Some shared modules (direction-files.ts, relevance-arrow.ts) keep a writer that imports node:fs
 * or node:path next to pure code the browser needs (directionJson, readRelevanceArrow). In the
 * browser bundle such imports resolve to a stub whose every export throws when called, so the pure
 * half works and a stray call to a writer fails loudly. Server (SSR) bundles get the real modules.
 */
export function browserNodeStubs() {
  return {
    name: 'styleatlas:browser-node-stubs',
    enforce: 'pre' as const,
    resolveId(id: string, _importer: string | undefined, options?: { ssr?: boolean }) {
      return !options?.ssr && id.startsWith('node:') ? `${STUB}${id}` : null;
    },
    load(id: string) {
      if (!id.startsWith(STUB)) return null;
      const name = JSON.stringify(id.slice(STUB.length));
      return {
        code: `export default new Proxy({}, { get: (_, key) => () => { throw new Error(${name} + '.' + String(key) + ' is not available in the browser'); } });`,
        // Named imports (`import { join } from 'node:path'`) become properties of the default export.
        syntheticNamedExports: true,
      };
    },
  };
}

export function styleAtlasSite(opts: { catalogue: string | undefined }): AstroIntegration {
  const catalogue = opts.catalogue;
  return {
    name: 'styleatlas',
    hooks: {
      'astro:config:setup': ({ updateConfig }) => {
        if (!catalogue) fail('E_USAGE', 'the site needs a catalogue: set STYLEATLAS_CATALOGUE to a catalogue folder', 'or run `styleatlas site build --catalogue DIR`');
        // Fails here, before any page renders, on unsafe slugs or asset paths.
        readSiteCatalogue(catalogue);
        updateConfig({ vite: { plugins: [browserNodeStubs()] } });
      },
      'astro:build:done': ({ dir, logger }) => {
        const out = fileURLToPath(dir);
        const a = copyCatalogueAssets(catalogue!, out);
        logger.info(`catalogue assets: ${a.files} files (${a.copied} copied)`);
        if (a.skipped.length > 0) logger.warn(`skipped ${a.skipped.length} entries that are not regular files: ${a.skipped.slice(0, 5).join(', ')}`);
      },
    },
  };
}
