// What a V8 startup snapshot of the CLI needs from its bundle, and only the benchmark's snapshot gets:
// Node cannot serialize `node:http`'s parser binding, so nothing may load `http` or `https` while the
// snapshot is built. Three modules do at load time: node-fetch and client-node bind the modules (and
// node-fetch reads http.STATUS_CODES, a plain table), hpagent declares its agents as subclasses of
// https.Agent. Here both modules become stand-ins that load the real one on first use, with the
// names and the status table taken from the Node that builds the snapshot, and hpagent loads when a
// kubeconfig's proxy first needs an agent.
import { execFileSync } from 'node:child_process';
import type { Plugin } from 'esbuild';
import { REPO_ROOT } from '../devcluster/binaries.js';

const DEFERRED = ['http', 'https'] as const;

/** The export names of `http` and `https`, and http.STATUS_CODES, as `node` has them. */
function builtinShapes(node: string): { keys: Record<string, string[]>; statusCodes: unknown } {
  const script = `process.stdout.write(JSON.stringify({ keys: { http: Object.keys(require('http')), https: Object.keys(require('https')) }, statusCodes: require('http').STATUS_CODES }))`;
  return JSON.parse(execFileSync(node, ['-e', script], { encoding: 'utf8' })) as {
    keys: Record<string, string[]>;
    statusCodes: unknown;
  };
}

// esbuild's ES module interop lists the exports and describes each when the module is first imported:
// the stand-in answers both from the names alone.
const standIn = (name: string, keys: string[], statusCodes: unknown) => `
let real;
const load = () => (real ??= process.getBuiltinModule('node:${name}'));
const keys = ${JSON.stringify(keys)};
const STATUS_CODES = ${JSON.stringify(statusCodes)};
module.exports = new Proxy({}, {
  get: (_, key) => (key === '__esModule' ? false : key === 'STATUS_CODES' ? STATUS_CODES : load()[key]),
  has: (_, key) => keys.includes(key),
  ownKeys: () => keys,
  getOwnPropertyDescriptor: (_, key) =>
    keys.includes(key) ? { configurable: true, enumerable: true, writable: true, value: undefined } : undefined,
});`;

// A constructor that returns an object makes `new` yield that object.
const HPAGENT = `
export function HttpProxyAgent(...args) { return new (require('hpagent/index').HttpProxyAgent)(...args); }
export function HttpsProxyAgent(...args) { return new (require('hpagent/index').HttpsProxyAgent)(...args); }`;

/** The esbuild plugin, for the snapshot `node` builds. */
export function snapshotSafe(node: string): Plugin {
  const { keys, statusCodes } = builtinShapes(node);
  return {
    name: 'snapshot-safe',
    setup(build) {
      build.onResolve({ filter: new RegExp(`^(node:)?(${DEFERRED.join('|')})$`) }, (args) => ({
        path: args.path.replace(/^node:/, ''),
        namespace: 'deferred-builtin',
      }));
      build.onLoad({ filter: /.*/, namespace: 'deferred-builtin' }, (args) => ({
        contents: standIn(args.path, keys[args.path] ?? [], statusCodes),
        loader: 'js',
      }));
      build.onResolve({ filter: /^hpagent$/ }, () => ({ path: 'hpagent', namespace: 'deferred-hpagent' }));
      build.onLoad({ filter: /.*/, namespace: 'deferred-hpagent' }, () => ({
        contents: HPAGENT,
        loader: 'js',
        resolveDir: REPO_ROOT,
      }));
    },
  };
}
