/** `styleatlas delta-t`: the text direction Δt of a (neutral, target) prompt pair, as facts or a file. */
import { resolve } from 'node:path';
import { fail } from '../../core/errors.ts';
import { Encoder } from '../../models/encoder.ts';
import { encodeNpy } from '../../store/npy.ts';
import { writeFileAtomic } from '../../store/atomic.ts';
import { checkOutputFile } from '../../store/output-errors.ts';
import { TextCache } from '../../store/text-cache.ts';
import {
  DEFAULT_TEXT_BATCH, type DeltaT, defaultTemplatesFile, checkNotEmpty, deltaT, loadTemplates, templatesSha256,
} from '../../stages/text-directions.ts';
import { flag, int, requireStr, str } from '../args.ts';
import { type CliIO, type CommandContext, defineCommand } from '../command.ts';
import { runtimeOptionHelp, runtimeOptionSpec, runtimeOptions } from '../runtime-options.ts';
import { textCacheOptionHelp, textCacheOptionSpec, textCachePath } from '../text-cache-options.ts';

export const DELTA_T_FORMAT = 'styleatlas-delta-t/1';

/** The largest |Δt_i|, largest first: which embedding coordinates the edit moves most. */
export function topCoordinates(v: Float32Array, count: number): { index: number; value: number }[] {
  return Array.from(v, (value, index) => ({ index, value }))
    .sort((a, b) => Math.abs(b.value) - Math.abs(a.value) || a.index - b.index)
    .slice(0, count);
}

interface Facts {
  encoder: { id: string; manifestSha256: string; dim: number };
  neutral: string;
  target: string;
  templates: { file: string; count: number; sha256: string };
  normBefore: number;
  cosine: number;
  top: { index: number; value: number }[];
  seconds: { open: number; embed: number; total: number };
  cache: { path: string | null; hits: number; textsEncoded: number };
  out: string | null;
}

/** Pure: the human summary of a run. */
export function renderFacts(f: Facts): string {
  const sign = (x: number) => (x < 0 ? `−${(-x).toFixed(4)}` : `+${x.toFixed(4)}`);
  return [
    `${f.encoder.id}: Δt ${JSON.stringify(f.neutral)} → ${JSON.stringify(f.target)} (D = ${f.encoder.dim}, ${f.templates.count} templates)`,
    `  ‖t(target) − t(neutral)‖ before normalising  ${f.normBefore.toFixed(6)}`,
    `  cos(t(neutral), t(target))                  ${f.cosine.toFixed(6)}`,
    `  largest coordinates  ${f.top.map((c) => `[${c.index}] ${sign(c.value)}`).join('  ')}`,
    `  time ${f.seconds.total.toFixed(3)} s (open ${f.seconds.open.toFixed(3)} s, embed ${f.seconds.embed.toFixed(3)} s); ` +
      (f.cache.path ? `cache ${f.cache.hits}/2 hits, ${f.cache.textsEncoded} texts encoded (${f.cache.path})` : `no cache, ${f.cache.textsEncoded} texts encoded`),
    ...(f.out ? [`  wrote ${f.out}`] : []),
  ].join('\n');
}

function writeDeltaT(path: string, r: DeltaT, f: Facts): void {
  if (path.toLowerCase().endsWith('.npy')) {
    writeFileAtomic(path, encodeNpy({ dtype: 'float32', shape: [r.deltaT.length], data: r.deltaT }));
    return;
  }
  const { out: _out, seconds: _s, cache: _c, top: _t, ...provenance } = f;
  writeFileAtomic(path, `${JSON.stringify({ format: DELTA_T_FORMAT, ...provenance, deltaT: Array.from(r.deltaT) })}\n`);
}

async function run(v: CommandContext['values'], io: CliIO): Promise<void> {
  const t0 = performance.now();
  const encoderDir = resolve(io.cwd, requireStr(v, 'encoder'));
  const neutral = str(v, 'neutral');
  const target = str(v, 'target');
  if (neutral === undefined) fail('E_USAGE', '--neutral is required', 'styleatlas delta-t --help');
  if (target === undefined) fail('E_USAGE', '--target is required', 'styleatlas delta-t --help');
  const outArg = str(v, 'out');
  if (outArg !== undefined && !/\.(npy|json)$/i.test(outArg)) fail('E_INPUT', `--out must end in .npy or .json, got ${outArg}`);
  if (outArg !== undefined) checkOutputFile(resolve(io.cwd, outArg));
  const cachePath = textCachePath(v, io);
  const top = int(v, 'top', 5, [0, 1_000_000]);
  const batch = int(v, 'batch', DEFAULT_TEXT_BATCH, [1, 65_536]);
  // Checks that need no model come first, so a typo costs no session start.
  checkNotEmpty(neutral, 'neutral');
  checkNotEmpty(target, 'target');
  const templatesFile = resolve(io.cwd, str(v, 'templates') ?? defaultTemplatesFile());
  const templates = loadTemplates(templatesFile);


  // The encoder before the cache, so a mistyped --encoder leaves no cache file behind.
  const encoder = await Encoder.open(encoderDir, { ...runtimeOptions(v), parts: ['text'] });
  let cache: TextCache | undefined;
  try {
    cache = cachePath === undefined ? undefined : TextCache.open(cachePath);
    const t1 = performance.now();
    const r = await deltaT(encoder, neutral, target, { templates, cache, batch });
    const t2 = performance.now();
    const out = outArg === undefined ? null : resolve(io.cwd, outArg);
    const facts: Facts = {
      encoder: { id: encoder.manifest.id, manifestSha256: encoder.bundle.manifestSha256, dim: encoder.dim },
      neutral,
      target,
      templates: { file: templatesFile, count: templates.length, sha256: templatesSha256(templates) },
      normBefore: r.normBefore,
      cosine: r.cosine,
      top: topCoordinates(r.deltaT, top),
      seconds: { open: (t1 - t0) / 1000, embed: (t2 - t1) / 1000, total: (t2 - t0) / 1000 },
      cache: { path: cache?.path ?? null, hits: r.cacheHits, textsEncoded: r.textsEncoded },
      out,
    };
    if (out) writeDeltaT(out, r, facts);
    if (flag(v, 'json')) io.out(JSON.stringify(facts));
    else if (out) {
      io.err(renderFacts(facts));
      io.out(out);
    } else io.out(renderFacts(facts));
  } finally {
    cache?.close();
    await encoder.release();
  }
}

export default defineCommand({
  path: ['delta-t'],
  summary: 'text direction Δt of a neutral → target prompt pair',
  usage: '--encoder DIR --neutral TEXT --target TEXT [--templates FILE] [--text-cache FILE | --no-cache] [--out FILE.npy|FILE.json] [--json]',
  details: `Δt = n(t(target) − t(neutral)), t(p) = n(mean_k n(E_T(template_k(p)))) over the templates
(DESIGN §1). Prints ‖t(target) − t(neutral)‖ before normalising (small: the encoder barely tells
the prompts apart), the cosine of the two t's, the largest coordinates of Δt, time and cache hits.

  --encoder DIR     encoder bundle (e.g. models/tiny-clip)
  --neutral TEXT    what the image is now, e.g. "face"
  --target TEXT     what it should become, e.g. "smiling face"
  --templates FILE  JSON array of templates with one "{}" each
                    (default: the 79 ImageNet templates, data/clip/imagenet-templates-79.json)
${textCacheOptionHelp}
  --out FILE        write Δt: .npy (float32 [D]) or .json (Δt with its provenance);
                    the facts then go to stderr and the path to stdout
  --json            print the facts as one JSON object
  --top N           how many coordinates to list (default 5)
  --batch N         template texts per text-encoder run (default ${DEFAULT_TEXT_BATCH})
${runtimeOptionHelp}

Every template expansion must fit CLIP's 77 tokens (E_PROMPT otherwise); empty prompts and a
target equal to the neutral are E_PROMPT; prompts the encoder cannot tell apart are E_NUMERIC.`,
  options: {
    encoder: { type: 'string' },
    neutral: { type: 'string' },
    target: { type: 'string' },
    templates: { type: 'string' },
    ...textCacheOptionSpec,
    out: { type: 'string' },
    json: { type: 'boolean' },
    top: { type: 'string' },
    batch: { type: 'string' },
    ...runtimeOptionSpec,
  },
  run: ({ values, io }) => run(values, io),
});
