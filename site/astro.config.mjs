// The StyleAtlas catalogue site: static pages rendered from a catalogue folder at build time.
// `styleatlas site build --catalogue DIR` sets these variables; `astro build` works with them too.
import { defineConfig } from 'astro/config';
import { styleAtlasSite } from '../pipeline/site/astro-integration.ts';

export default defineConfig({
  output: 'static',
  build: { format: 'directory', assets: '_astro' },
  // Separate caches let several builds (a demo and the e2e tests) run at once.
  cacheDir: process.env.STYLEATLAS_SITE_CACHE_DIR || './node_modules/.astro',
  devToolbar: { enabled: false },
  integrations: [styleAtlasSite({ catalogue: process.env.STYLEATLAS_CATALOGUE })],
  vite: {
    cacheDir: process.env.STYLEATLAS_SITE_CACHE_DIR ? `${process.env.STYLEATLAS_SITE_CACHE_DIR}/vite` : undefined,
    // onnxruntime-web's bundle is ~400 kB and only loads on the live page.
    build: { chunkSizeWarningLimit: 1024 },
    // The live page's onnxruntime worker (site/src/scripts/live/ort-worker.ts) is an ES module:
    // onnxruntime-web loads its wasm glue with import().
    worker: { format: 'es' },
  },
});
