/**
 * CLIP's `basic_clean` (clip/simple_tokenizer.py): `html.unescape(html.unescape(ftfy.fix_text(text)))`.
 * The tokenizer.json holds the rest of the original's clean-up (NFC, whitespace runs → one space,
 * lower-casing); this module does, before it, the parts of ftfy 6 that are plain character maps, in
 * ftfy's order and repeated until nothing changes, as ftfy does:
 *   HTML entities (only when the text has no "<"), C1 controls read as Windows-1252, Latin ligatures,
 *   full-/half-width forms, curly quotes → straight, lone surrogates → U+FFFD, ANSI terminal escapes,
 *   invisible control characters; then CLIP's own two `html.unescape` passes.
 * Line-break repair is left out on purpose: every line break is whitespace and becomes one space anyway.
 *
 * Inputs whose ids can still differ from the original:
 *   - mojibake (`cafÃ©`, `â€™`): ftfy's `fix_encoding` re-decodes it; we keep the characters as given;
 *   - named HTML entities other than amp, lt, gt, quot, apos, nbsp (in the spellings html5 allows):
 *     left as written (`&eacute;` stays, the original gives `é`); math names that begin with lt/gt
 *     (`&ltimes;`) decode as `<`/`>` plus the rest, where Python knows the longer name;
 *   - ftfy checks for "<" line by line, we check the whole text (differs only for multi-line HTML);
 *   - characters whose Unicode data differ between the original's Python and this JavaScript engine.
 * Pure: no I/O, runs the same in Node and the browser.
 */

/**
 * U+0080–U+009F read as Windows-1252 bytes, undefined bytes kept (ftfy's "sloppy-windows-1252", which
 * Python's html.unescape also uses for &#128;–&#159;). A table, not TextDecoder('windows-1252'):
 * Node 20's decoder returns '' for these bytes.
 */
const C1_AS_CP1252 =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

/** html5 names we decode; `legacy` ones are also accepted by Python's html.unescape without the ";". */
const ENTITIES = new Map<string, { char: string; legacy: boolean }>([
  ['amp', { char: '&', legacy: true }],
  ['AMP', { char: '&', legacy: true }],
  ['lt', { char: '<', legacy: true }],
  ['LT', { char: '<', legacy: true }],
  ['gt', { char: '>', legacy: true }],
  ['GT', { char: '>', legacy: true }],
  ['quot', { char: '"', legacy: true }],
  ['QUOT', { char: '"', legacy: true }],
  ['apos', { char: "'", legacy: false }],
  ['nbsp', { char: '\u00a0', legacy: true }],
]);
/** ftfy also decodes these all-caps spellings (it upper-cases lower-case names that are not taken). */
const FTFY_UPPER = new Map([
  ['APOS', "'"],
  ['NBSP', '\u00a0'],
]);

/** A numeric character reference as Python's html.unescape decodes it. */
function charRef(n: number): string {
  if (n === 0) return '\ufffd';
  if (n === 0x0d) return '\r';
  if (n >= 0x80 && n <= 0x9f) return C1_AS_CP1252[n - 0x80];
  if ((n >= 0xd800 && n <= 0xdfff) || n > 0x10ffff) return '\ufffd';
  const invalid =
    (n >= 0x01 && n <= 0x08) || n === 0x0b || (n >= 0x0e && n <= 0x1f) || n === 0x7f ||
    (n >= 0xfdd0 && n <= 0xfdef) || (n & 0xfffe) === 0xfffe;
  return invalid ? '' : String.fromCodePoint(n);
}

/** Python's `html.unescape`, for the entities above and every numeric reference. */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(
    /&(?:#([0-9]+);?|#[xX]([0-9a-fA-F]+);?|([^\t\n\f <&#;]{1,32};?))/g,
    (all, dec?: string, hex?: string, name?: string) => {
      if (dec !== undefined) return charRef(Number.parseInt(dec, 10));
      if (hex !== undefined) return charRef(Number.parseInt(hex, 16));
      const n = name as string;
      const full = n.endsWith(';') ? ENTITIES.get(n.slice(0, -1)) : undefined;
      if (full) return full.char;
      // Without a known full name Python takes the longest legacy name that prefixes it.
      for (let k = Math.min(n.length, 32); k > 1; k--) {
        const e = ENTITIES.get(n.slice(0, k));
        if (e?.legacy) return e.char + n.slice(k);
      }
      return all;
    },
  );
}

/** ftfy's `unescape_html`: only complete `&name;` / `&#n;` forms, so "this&not that" stays. */
function ftfyUnescape(text: string): string {
  return text.replace(/&#?[0-9A-Za-z]{1,24};/g, (m) => {
    const name = m.slice(1, -1);
    if (!m.startsWith('&#')) return ENTITIES.get(name)?.char ?? FTFY_UPPER.get(name) ?? m;
    const out = htmlUnescape(m);
    return out.includes(';') ? m : out;
  });
}

function ftfyPass(text: string, unescape: boolean): string {
  let t = unescape ? ftfyUnescape(text) : text;
  t = t.replace(/[\x80-\x9f]/g, (c) => C1_AS_CP1252[c.charCodeAt(0) - 0x80]);
  t = t.replace(/[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g, (c) =>
    c === '\ufb05' ? '\u017ft' : c.normalize('NFKC'),
  );
  t = t.replace(/[\u3000\uff01-\uffef]/g, (c) => (c === '\u3000' ? ' ' : c.normalize('NFKC')));
  t = t.replace(/[\u201c-\u201f]/g, '"').replace(/[\u02bc\u2018-\u201b]/g, "'");
  t = t.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  t = t.replace(/\x1b\[[\d;]*[a-zA-Z]/g, '');
  t = t.replace(/[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g, '');
  return t.normalize('NFC');
}

/** What CLIP's `basic_clean` does, short of mojibake repair (see the module comment). */
export function cleanText(text: string): string {
  const unescape = !text.includes('<');
  let t = text;
  for (let i = 0; i < 16; i++) {
    const next = ftfyPass(t, unescape);
    if (next === t) break;
    t = next;
  }
  return htmlUnescape(htmlUnescape(t));
}
