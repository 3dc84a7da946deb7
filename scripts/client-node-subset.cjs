'use strict';
// An esbuild plugin that bundles only the part of @kubernetes/client-node 1.x that our code calls.
// Its entry point loads every API group, ~2,500 model classes and the dependencies of features we never
// use (exec, cp, port-forward, SOCKS proxies): bundled as is, that cost a cold start ~300 ms and ~50 MB,
// most of the run. client-node stays the client; the bundle just leaves out what is never reached:
// - client-node's modules are side-effect free, so esbuild drops the modules nothing imports;
// - the generated API classes keep only the methods whose names occur in our sources;
// - the serializer's type map keeps only the models those methods read or write, and what they contain;
// - node-fetch's whatwg-url fallback (a 300 KB Unicode table) is Node's own URL, which it prefers anyway;
// - the SOCKS proxy agent loads when a kubeconfig names a socks proxy-url, an authentication provider
//   when its user names one (auth-provider, exec), not at start-up.
// The generated code is regular: every method starts on a four-space indent and ends on "    }". Every
// cut checks that it found what it expects, so a client-node release of another shape fails the build
// instead of shipping a client with holes.
// CommonJS, because serverless-esbuild require()s its plugins file.
const fs = require('node:fs');
const path = require('node:path');
const { isBuiltin } = require('node:module');

const REPO_ROOT = path.resolve(__dirname, '..');
const CLIENT_NODE = /[\\/]@kubernetes[\\/]client-node[\\/]dist[\\/]/;
const GENERATED_API =
  /[\\/]client-node[\\/]dist[\\/]gen[\\/](?:apis[\\/]\w+Api|types[\\/]ObservableAPI|types[\\/]ObjectParamAPI)\.js$/;
// The serializer's type map, and the index that re-exports every model.
const MODEL_LISTS = /[\\/]client-node[\\/]dist[\\/]gen[\\/]models[\\/](?:ObjectSerializer|all)\.js$/;
const KUBE_CONFIG = /[\\/]client-node[\\/]dist[\\/]config\.js$/;
const NODE_FETCH = /[\\/]node_modules[\\/]node-fetch[\\/]/;
const NODE_FETCH_MAIN = /[\\/]node_modules[\\/]node-fetch[\\/]lib[\\/]index\.js$/;
// What only the deferred authentication providers load: their modules, and the packages only they use.
const LOADED_ON_DEMAND =
  /(?:[\\/]client-node[\\/]dist[\\/](?:azure|exec|gcp|oidc)_auth|[\\/]node_modules[\\/](?:jsonpath-plus|openid-client|oauth4webapi)[\\/].*)\.m?js$/;
const METHOD_START = /^ {4}(?:async )?(\w+)\(.*\) \{$/;
const METHOD_END = '    }';

class ShapeError extends Error {
  constructor(file, what) {
    super(
      `client-node-subset: ${path.basename(file)} ${what}; is this the client-node 1.x it was written for?`,
    );
  }
}

/** Every identifier in the TypeScript sources under `dirs`: the names our code may call. */
function identifiersIn(dirs) {
  const names = new Set();
  const visit = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(file);
      else if (entry.name.endsWith('.ts')) {
        for (const [name] of fs.readFileSync(file, 'utf8').matchAll(/[A-Za-z_$][\w$]*/g)) names.add(name);
      }
    }
  };
  for (const dir of dirs) visit(dir);
  return names;
}

/** Drops the methods of generated API classes whose name (less "WithHttpInfo") is not in `used`. */
function keepUsedMethods(file, source, used) {
  const kept = [];
  let skipping = false;
  let cut = 0;
  for (const line of source.split('\n')) {
    if (skipping) {
      if (line === METHOD_END) skipping = false;
      continue;
    }
    const method = METHOD_START.exec(line)?.[1];
    if (method !== undefined && method !== 'constructor' && !used.has(method.replace(/WithHttpInfo$/, ''))) {
      skipping = true;
      cut++;
      continue;
    }
    kept.push(line);
  }
  if (skipping) throw new ShapeError(file, 'has a method that does not end on a four-space "}"');
  if (cut === 0) throw new ShapeError(file, 'has no methods at four-space indent');
  return kept.join('\n');
}

/** The models reachable from `roots` through their attribute types. */
function modelClosure(modelsDir, known, roots) {
  const keep = new Set();
  const todo = [...roots].filter((name) => known.has(name));
  while (todo.length > 0) {
    const model = todo.pop();
    if (keep.has(model)) continue;
    keep.add(model);
    const source = fs.readFileSync(path.join(modelsDir, `${model}.js`), 'utf8');
    for (const [, type] of source.matchAll(/"type": "([^"]+)"/g)) {
      // Attribute types read like "Array<V1Pod>" or "{ [key: string]: V1Volume; }".
      for (const [name] of type.matchAll(/\w+/g)) if (known.has(name)) todo.push(name);
    }
  }
  return keep;
}

const MODEL_LINES = [
  /^export \* from '\.\.\/models\/(\w+)\.js';$/,
  /^import \{ (\w+) \} from '\.\.\/models\/\1\.js';$/,
  /^ {4}"(\w+)": \1,?$/,
];

/** Drops the lines of a model list (re-exports, imports, type map entries) that name other models. */
function keepModels(file, source, keep) {
  let dropped = 0;
  const kept = source.split('\n').filter((line) => {
    const model = MODEL_LINES.map((pattern) => pattern.exec(line)?.[1]).find((m) => m !== undefined);
    if (model === undefined || keep.has(model)) return true;
    dropped++;
    return false;
  });
  if (dropped === 0) throw new ShapeError(file, 'lists no models');
  return kept.join('\n');
}

/** Replaces `eager` in `source` by `lazy`, or fails the build when client-node no longer has it. */
function replaceOnce(file, source, eager, lazy, what) {
  if (!source.includes(eager)) throw new ShapeError(file, `no longer ${what} as expected`);
  return source.replace(eager, lazy);
}

// The authentication providers a kubeconfig's user names with `auth-provider` or `exec`: loaded, with
// child_process, jsonpath-plus (vm), openid-client and WebCrypto, when the kubeconfig asks for one,
// not at every start-up. `claims` is each one's isAuthProvider as client-node 1.4 writes it, asked
// before loading it (and the loaded one's own answer after).
const DEFERRED_AUTHENTICATORS = {
  AzureAuth: {
    module: './azure_auth.js',
    part: 'the azure auth-provider',
    claims: "user?.authProvider?.name === 'azure'",
  },
  ExecAuth: {
    module: './exec_auth.js',
    part: 'an exec credential plugin',
    claims:
      "Boolean(user?.exec) || user?.authProvider?.name === 'exec' || Boolean(user?.authProvider?.config?.exec)",
  },
  GoogleCloudPlatformAuth: {
    module: './gcp_auth.js',
    part: 'the gcp auth-provider',
    claims: "user?.authProvider?.name === 'gcp'",
  },
  OpenIDConnectAuth: {
    module: './oidc_auth.js',
    part: 'the oidc auth-provider',
    claims: "user?.authProvider?.name === 'oidc'",
  },
};
/** The parts of a kubeconfig a bundle may leave out (`leaveOut`), as its errors name them. */
const OPTIONAL_PARTS = ['a socks proxy-url', ...Object.values(DEFERRED_AUTHENTICATORS).map((a) => a.part)];
const LAZY_AUTHENTICATOR = `function lazyAuthenticator(claims, load) {
  let real;
  const get = () => (real ??= new (load())());
  return {
    isAuthProvider: (user) => claims(user) && get().isAuthProvider(user),
    applyAuthentication: (user, opts) => get().applyAuthentication(user, opts),
  };
}`;

/**
 * A module esbuild initialises on first require() still has its imports of Node's built-ins hoisted
 * to the top of an ES module bundle, loaded at start-up: as require() calls they load with it.
 */
function requireBuiltinsOnDemand(source) {
  return source.replace(
    /^import (\w+|\* as \w+) from '((?:node:)?[\w/]+)';$/gm,
    (line, binding, specifier) =>
      isBuiltin(specifier) ? `const ${binding.replace('* as ', '')} = require('${specifier}');` : line,
  );
}

/** client-node's config.js with what only some kubeconfigs (or Windows) need loaded on demand. */
function deferOptionalParts(file, source, leftOut, socksOnly) {
  // What loads a part on demand, or, for a part this bundle leaves out, an error saying so.
  const load = (part, module, name) =>
    leftOut.parts.includes(part)
      ? `(() => { throw new Error(${JSON.stringify(`${part}: ${leftOut.why}`)}); })()`
      : `require('${module}').${name}`;
  // A constructor that returns an object makes `new` yield that object.
  let out = replaceOnce(
    file,
    source,
    "import { SocksProxyAgent } from 'socks-proxy-agent';",
    `function SocksProxyAgent(...args) { return new (${load('a socks proxy-url', 'socks-proxy-agent', 'SocksProxyAgent')})(...args); }`,
    'imports SocksProxyAgent',
  );
  if (socksOnly) return out;
  for (const [name, { module, part, claims }] of Object.entries(DEFERRED_AUTHENTICATORS)) {
    out = replaceOnce(
      file,
      out,
      `import { ${name} } from '${module}';`,
      `function ${name}() { return lazyAuthenticator((user) => ${claims}, () => ${load(part, module, name)}); }`,
      `imports ${name}`,
    );
  }
  // Only a kubeconfig file is YAML: a pod's service account (a CronJob's, a function's) is not.
  out = replaceOnce(
    file,
    out,
    "import yaml from 'js-yaml';",
    "const yaml = { load: (...args) => require('js-yaml').load(...args) };",
    'imports js-yaml',
  );
  // Only read on Windows, for a kubeconfig inside WSL.
  out = replaceOnce(
    file,
    out,
    "import child_process from 'node:child_process';",
    "const child_process = { spawnSync: (...args) => require('node:child_process').spawnSync(...args) };",
    'imports child_process',
  );
  return `${out}\n${LAZY_AUTHENTICATOR}\n`;
}

/**
 * @param {{ sources?: string[], leaveOut?: { parts: string[], why: string }, loadAtStart?: boolean }}
 *   [options] `sources`: folders whose TypeScript sources call client-node (default: lib/ and
 *   functions/); `leaveOut`: kubeconfig features (OPTIONAL_PARTS) this bundle does not carry, and why,
 *   for its error; `loadAtStart`: only the SOCKS agent on demand, as before the rest was (the
 *   benchmark's baseline for loading on demand).
 */
function clientNodeSubset(options = {}) {
  const sources = options.sources ?? [path.join(REPO_ROOT, 'lib'), path.join(REPO_ROOT, 'functions')];
  const leftOut = options.leaveOut ?? { parts: [], why: '' };
  const unknown = leftOut.parts.filter((part) => !OPTIONAL_PARTS.includes(part));
  if (unknown.length > 0) throw new Error(`client-node-subset: no optional part named ${unknown.join(', ')}`);
  let used;
  let models;
  const trimmedApis = new Map();
  const trimmedApi = (file) => {
    let trimmed = trimmedApis.get(file);
    if (trimmed === undefined) {
      trimmed = keepUsedMethods(file, fs.readFileSync(file, 'utf8'), (used ??= identifiersIn(sources)));
      trimmedApis.set(file, trimmed);
    }
    return trimmed;
  };
  // The models the kept methods of every API class name, whichever of them the bundle reaches, and
  // the models those contain.
  const usedModels = (modelsDir) => {
    if (models !== undefined) return models;
    const serializer = path.join(modelsDir, 'ObjectSerializer.js');
    const known = new Set(
      [...fs.readFileSync(serializer, 'utf8').matchAll(/^ {4}"(\w+)": \1,?$/gm)].map((m) => m[1]),
    );
    if (known.size < 100) throw new ShapeError(serializer, 'has no type map of models');
    const apisDir = path.join(modelsDir, '..', 'apis');
    const roots = new Set();
    for (const name of fs.readdirSync(apisDir).filter((n) => /^\w+Api\.js$/.test(n))) {
      for (const [, literal] of trimmedApi(path.join(apisDir, name)).matchAll(/"(\w+)"/g)) roots.add(literal);
    }
    models = modelClosure(modelsDir, known, roots);
    return models;
  };
  return {
    name: 'client-node-subset',
    setup(build) {
      // Relative imports (client-node's own) and the package itself; a catch-all filter costs seconds.
      build.onResolve({ filter: /^(?:\.\.?\/|@kubernetes\/client-node)/ }, async (args) => {
        if (args.pluginData === 'client-node-subset') return undefined;
        if (!args.path.startsWith('@kubernetes/client-node') && !CLIENT_NODE.test(args.importer))
          return undefined;
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: 'client-node-subset',
        });
        if (resolved.errors.length > 0 || resolved.external || !CLIENT_NODE.test(resolved.path))
          return resolved;
        return { path: resolved.path, sideEffects: false };
      });
      build.onResolve({ filter: /^whatwg-url$/ }, (args) =>
        NODE_FETCH.test(args.importer) ? { path: 'whatwg-url', namespace: 'node-url' } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'node-url' }, () => ({
        contents: "module.exports = { URL: require('node:url').URL };",
        loader: 'js',
      }));
      build.onLoad({ filter: GENERATED_API }, (args) => ({
        contents: trimmedApi(args.path),
        loader: 'js',
      }));
      build.onLoad({ filter: MODEL_LISTS }, (args) => ({
        contents: keepModels(
          args.path,
          fs.readFileSync(args.path, 'utf8'),
          usedModels(path.dirname(args.path)),
        ),
        loader: 'js',
      }));
      build.onLoad({ filter: NODE_FETCH_MAIN }, (args) => ({
        contents: replaceOnce(
          args.path,
          fs.readFileSync(args.path, 'utf8'),
          'const parse_url = Url.parse;',
          // Node 24 warns (DEP0169) on every url.parse(); client-node's URLs are absolute, which WHATWG
          // URL reads the same, in the request options url.parse() gave.
          'const parse_url = (input) => Url.urlToHttpOptions(new URL(input));',
          'reads URLs with url.parse',
        ),
        loader: 'js',
      }));
      if (options.loadAtStart !== true) {
        build.onLoad({ filter: LOADED_ON_DEMAND }, (args) => ({
          contents: requireBuiltinsOnDemand(fs.readFileSync(args.path, 'utf8')),
          loader: 'js',
        }));
      }
      build.onLoad({ filter: KUBE_CONFIG }, (args) => ({
        contents: deferOptionalParts(
          args.path,
          fs.readFileSync(args.path, 'utf8'),
          leftOut,
          options.loadAtStart === true,
        ),
        loader: 'js',
      }));
    },
  };
}

module.exports = { clientNodeSubset, OPTIONAL_PARTS };
