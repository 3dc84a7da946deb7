import type { Plugin } from 'esbuild';

declare function esbuildPlugins(): Plugin[];
export = esbuildPlugins;
