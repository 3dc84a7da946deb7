import type { Plugin } from 'esbuild';

export declare function clientNodeSubset(options?: { sources?: string[] }): Plugin;
