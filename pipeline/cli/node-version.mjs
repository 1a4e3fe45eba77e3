// The Node.js versions StyleAtlas runs on, checked by every entry point before anything native
// loads: better-sqlite3 13 and undici (astro) need Node 22.19+, and on Node 20 better-sqlite3
// segfaults instead of refusing to load. Plain JavaScript with no imports, so that any Node
// parses it (the TypeScript loader is imported only after this check passes).

/** package.json's `engines.node` says the same (a unit test compares them). */
export const SUPPORTED_NODE = Object.freeze({ min: Object.freeze([22, 19, 0]), belowMajor: 27 });

export const SUPPORTED_NODE_RANGE = `>=${SUPPORTED_NODE.min.join('.')} <${SUPPORTED_NODE.belowMajor}`;

/** Why `version` ("v20.20.2" or "20.20.2") cannot run StyleAtlas, or undefined when it can. */
export function nodeVersionProblem(version) {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return `cannot read the Node.js version "${version}"`;
  const v = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [a, b, c] = SUPPORTED_NODE.min;
  const belowMin = v[0] !== a ? v[0] < a : v[1] !== b ? v[1] < b : v[2] < c;
  if (!belowMin && v[0] < SUPPORTED_NODE.belowMajor) return undefined;
  const why = belowMin ? 'is older than StyleAtlas supports' : 'is newer than StyleAtlas has been tested on';
  return `Node.js ${v.join('.')} ${why}; it needs Node.js ${SUPPORTED_NODE_RANGE} (22.19 or later, 24 or 26)`;
}

/** The E_NODE report, as the CLI prints coded errors. */
export function nodeVersionReport(problem) {
  return [
    `E_NODE: ${problem}`,
    '  hint: in a StyleAtlas checkout, `npm ci` installs the tested Node.js 24 into node_modules/.bin;',
    '        run commands through it: `npx styleatlas …`, `npm run demo`, `npm test`, or',
    '        `node_modules/.bin/node bin/styleatlas.mjs …`.',
    '        Elsewhere install Node.js 24 LTS (or 22.19+, 26) and put it first on PATH;',
    '        docs/runtime.md shows how to fetch one from the npm registry.',
    '',
  ].join('\n');
}

/**
 * Exit with E_NODE (status 1) unless the running Node is supported. Called first by every
 * entry point: bin/styleatlas.mjs, bin/run-ts.mjs, the test set-up.
 */
export function exitUnlessSupportedNode() {
  const problem = nodeVersionProblem(process.version);
  if (problem === undefined) return;
  process.stderr.write(nodeVersionReport(problem));
  process.exit(1);
}
