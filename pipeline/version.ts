/**
 * The tool's version, in one place: manifests (`createdWith`), provenance, catalogue inputs,
 * downloads and `styleatlas --version` read it from here. package.json holds the same number for
 * npm; test/unit/version.test.ts keeps the two equal. Pure: the browser imports it too.
 */
export const VERSION = '0.1.0';

/** How outputs name the tool that wrote them. */
export const TOOL_VERSION = `styleatlas ${VERSION}`;
