#!/usr/bin/env node
// The command's first module, a few lines that Node compiles in no time. It turns on Node's compile
// cache (Node 22.1+; Node 20 has none) before the bundled program is read, so that a process after
// the first — every CronJob tick, every scaled-to-zero function start — skips compiling it: the cache
// is Node's own (NODE_COMPILE_CACHE, or a folder in the temporary directory), and the image ships one
// written when it was built.
import module from 'node:module';

// @types/node 20 does not describe it; Node 22 and 24 have it.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
// Beside this file in the bundle: scripts/bundle.ts builds the program as main.mjs.
const program = './main.mjs';
await import(program);
