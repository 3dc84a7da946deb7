// Bundles each platform entry into one file with esbuild: what the container images, the
// Knative and OpenFaaS functions run (Lambda is bundled by serverless-esbuild with the same settings).
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { fileURLToPath } from 'node:url';
import esbuildPlugins from './esbuild-plugins.cjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// CommonJS dependencies bundled into an ES module still call require() for Node built-ins.
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

export const TARGETS = {
  // The program; dist/bundle/cli.mjs (functions/cli/bin.ts), the command, turns on the compile cache and runs it.
  cli: { entry: 'functions/cli/main.ts', outfile: 'dist/bundle/main.mjs', format: 'esm' },
  knative: { entry: 'functions/knative/index.ts', outfile: 'dist/bundle/knative/index.mjs', format: 'esm' },
  // The node22 template require()s its handler and calls the export itself.
  openfaas: {
    entry: 'functions/openfaas/handler.ts',
    outfile: 'dist/bundle/openfaas/handler.js',
    format: 'cjs',
  },
} as const;

export type Target = keyof typeof TARGETS;

export function buildOptions(target: Target): BuildOptions {
  const t = TARGETS[target];
  return {
    entryPoints: [path.join(ROOT, t.entry)],
    outfile: path.join(ROOT, t.outfile),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: t.format,
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
    plugins: esbuildPlugins(),
    ...(t.format === 'esm'
      ? { banner: { js: ESM_REQUIRE_BANNER } }
      : { footer: { js: 'module.exports = module.exports.default;' } }),
  };
}

/** The CLI's command: its first module, which loads the program (main.mjs) beside it. */
export const CLI_COMMAND = path.join(ROOT, 'dist/bundle/cli.mjs');

export async function bundle(target: Target): Promise<string> {
  await build(buildOptions(target));
  const outfile = path.join(ROOT, TARGETS[target].outfile);
  if (target === 'cli') {
    await build({
      entryPoints: [path.join(ROOT, 'functions/cli/bin.ts')],
      outfile: CLI_COMMAND,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      logLevel: 'warning',
    });
  }
  // Our package.json says "type": "module"; the bundle's folder must say what the bundle is.
  const type = TARGETS[target].format === 'cjs' ? 'commonjs' : 'module';
  const manifest: Record<string, unknown> = { name: `metallb-dyn6-${target}`, private: true, type };
  if (target === 'knative') {
    // A Knative Functions project: the node buildpack runs `npm start` with faas-js-runtime.
    const ours = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    manifest['main'] = 'index.mjs';
    manifest['scripts'] = { start: 'faas-js-runtime ./index.mjs' };
    manifest['dependencies'] = { 'faas-js-runtime': ours.devDependencies['faas-js-runtime'] };
    copyFileSync(
      path.join(ROOT, 'functions/knative/func.yaml'),
      path.join(path.dirname(outfile), 'func.yaml'),
    );
  }
  if (target === 'openfaas') {
    // The node22 template's image build runs `npm test` in the handler's folder: it checks that the
    // bundle loads and exports the handler the template calls.
    manifest['scripts'] = {
      test: "node -e \"if (typeof require('./handler.js') !== 'function') { console.error('handler.js exports no function'); process.exit(1); }\"",
    };
  }
  writeFileSync(path.join(path.dirname(outfile), 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return target === 'cli' ? CLI_COMMAND : outfile;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const wanted = process.argv.slice(2);
  const targets = (wanted.length > 0 ? wanted : Object.keys(TARGETS)) as Target[];
  for (const target of targets) process.stdout.write(`${await bundle(target)}\n`);
}
