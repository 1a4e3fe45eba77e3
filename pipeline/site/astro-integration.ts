/**
 * The Astro side of the site build: checks the catalogue before any page is rendered and copies
 * the catalogue's assets into the output when the pages are done. Browser scripts import only the
 * pipeline's pure modules (test/unit/browser-imports.test.ts keeps it so).
 */
import { fileURLToPath } from 'node:url';
import type { AstroIntegration } from 'astro';
import { fail } from '../core/errors.ts';
import { readSiteCatalogue } from './catalogue-data.ts';
import { copyCatalogueAssets } from './site-assets.ts';

export function styleAtlasSite(opts: { catalogue: string | undefined }): AstroIntegration {
  const catalogue = opts.catalogue;
  return {
    name: 'styleatlas',
    hooks: {
      'astro:config:setup': () => {
        if (!catalogue) fail('E_USAGE', 'the site needs a catalogue: set STYLEATLAS_CATALOGUE to a catalogue folder', 'or run `styleatlas site build --catalogue DIR`');
        // Fails here, before any page renders, on unsafe slugs or asset paths.
        readSiteCatalogue(catalogue);
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
