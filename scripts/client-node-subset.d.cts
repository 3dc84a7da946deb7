import type { Plugin } from 'esbuild';

export declare const OPTIONAL_PARTS: readonly string[];

export declare function clientNodeSubset(options?: {
  sources?: string[];
  leaveOut?: { parts: string[]; why: string };
  loadAtStart?: boolean;
}): Plugin;
