// Types for node-version.mjs (plain JavaScript so that it runs before the TypeScript loader).
export declare const SUPPORTED_NODE: { readonly min: readonly [number, number, number]; readonly belowMajor: number };
export declare const SUPPORTED_NODE_RANGE: string;
export declare function nodeVersionProblem(version: string): string | undefined;
export declare function nodeVersionReport(problem: string): string;
export declare function exitUnlessSupportedNode(): void;
