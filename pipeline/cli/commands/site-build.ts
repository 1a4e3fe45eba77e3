import { join, resolve } from 'node:path';
import { buildSite } from '../../site/build-site.ts';
import { flag, requireStr, str } from '../args.ts';
import { defineCommand } from '../command.ts';

export default defineCommand({
  path: ['site', 'build'],
  summary: 'build the static catalogue website (Astro) from a catalogue folder',
  usage: '--catalogue DIR [--out DIR] [--cache-dir DIR] [--verbose]',
  details: `Renders the home page (search and direction cards), one page per direction (gallery with an α
slider, β and score plots, active channels, downloads), one page per build (provenance, channel heat
maps, fs3.npy and relevance.arrow) and the live page (any prompt, computed in the browser), and copies
the catalogue's assets beside them. Every file is local: the site fetches nothing from elsewhere.
Build ids and slugs become URL paths only if they are made of a-z, 0-9 and "-"; others are refused.

  --catalogue DIR   a catalogue folder (catalogue.sqlite and assets/), from \`styleatlas catalogue\`
  --out DIR         output folder (default site/dist); a previous site build there is replaced
  --cache-dir DIR   Astro/Vite cache (default site/node_modules/.astro); builds that run at the
                    same time need separate caches
  --verbose         show Astro's own output`,
  options: {
    catalogue: { type: 'string' },
    out: { type: 'string' },
    'cache-dir': { type: 'string' },
    verbose: { type: 'boolean' },
  },
  async run({ values, io }) {
    const cacheDir = str(values, 'cache-dir');
    io.err('site: building with Astro…');
    const s = await buildSite({
      catalogueDir: resolve(io.cwd, requireStr(values, 'catalogue')),
      outDir: resolve(io.cwd, str(values, 'out') ?? join('site', 'dist')),
      cacheDir: cacheDir === undefined ? undefined : resolve(io.cwd, cacheDir),
      env: io.env,
      onOutput: flag(values, 'verbose') ? (line) => io.err(line) : undefined,
    });
    io.err(`site: ${s.pages} pages (${s.directions} directions, ${s.mappers} mappers, ${s.builds} builds) in ${s.seconds.toFixed(1)} s → ${s.outDir}`);
    io.err('serve it with `styleatlas site serve' + (s.outDir === resolve(io.cwd, 'site', 'dist') ? '`' : ` --dir ${s.outDir}\``));
    io.out(s.outDir);
  },
});
