// The release rehearsed on this machine: what the release workflow does (scripts/release/publish.sh),
// against an OCI registry on 127.0.0.1 (go-containerregistry's `crane registry serve`) instead of the
// public one, signed with a throwaway cosign key instead of keyless, with the classic chart repository
// served over HTTP on 127.0.0.1 instead of GitHub Pages. Registry, key and pages live in one temporary
// folder, removed when it stops.
//
// Usage: npm run release:rehearse [-- --previous VERSION] [--version VERSION] [--exit]
//   --previous  publish this (lower) version first, e.g. 0.1.0-rc.0, to rehearse an upgrade
//   --exit      stop after publishing instead of serving until Ctrl-C
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const TOOLS = {
  crane: ['github.com/google/go-containerregistry/cmd/crane', 'v0.22.1'],
  cosign: ['github.com/sigstore/cosign/v3/cmd/cosign', 'v3.1.3'],
  helm: ['helm.sh/helm/v4/cmd/helm', 'v4.3.2'],
} as const;

/** A Go tool from the module proxy, built on first use and cached (scripts/provision-go-tool.sh). */
export function goTool(name: keyof typeof TOOLS): string {
  const out = execFileSync('bash', [path.join(ROOT, 'scripts/provision-go-tool.sh'), ...TOOLS[name]], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const found = /: (\S+)(?: \(cached\))?\s*$/.exec(out.trim())?.[1];
  if (found === undefined) throw new Error(`provision-go-tool.sh ${TOOLS[name].join(' ')} printed no path`);
  return found;
}

/** What publish.sh printed on stdout, its key=value lines. */
export interface Published {
  version: string;
  /** registry/owner/metallb-dyn6@sha256:… */
  image: string;
  digest: string;
  /** oci://registry/owner/charts/metallb-dyn6 */
  chart: string;
  chartDigest: string;
  chartPackage: string;
  sbom: string;
  pagesIndex: string;
}

export interface Rehearsal {
  /** host:port of the registry on 127.0.0.1 */
  registry: string;
  owner: string;
  /** Where the chart repository (index.yaml and the charts) is served. */
  pagesUrl: string;
  pagesDir: string;
  /** The cosign key pair the release is signed with (no password). */
  privateKey: string;
  publicKey: string;
  stateDir: string;
  tools: { crane: string; cosign: string; helm: string };
  publish(version?: string): Promise<Published>;
  stop(): Promise<void>;
}

export interface RehearsalOptions {
  owner?: string;
  /** Where publish.sh's and the tools' logs go (default: this process's stderr). */
  log?: (chunk: string) => void;
}

function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; log: (chunk: string) => void },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', options.log);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${path.basename(command)} ${args.join(' ')} exited ${String(code)}`));
    });
  });
}

/** `crane registry serve` on a free port of 127.0.0.1, its blobs in `dir`. */
function serveRegistry(crane: string, dir: string): Promise<{ process: ChildProcess; address: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(crane, ['registry', 'serve', '--address', '127.0.0.1:0', '--disk', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`crane registry serve did not start: ${output}`));
    }, 15_000);
    const seen = (d: string) => {
      output += d;
      const port = /serving on port (\d+)/.exec(output)?.[1];
      if (port === undefined) return;
      clearTimeout(timer);
      // Only the start line matters; the rest would fill the pipe if nobody read it.
      child.stdout.removeListener('data', seen).resume();
      child.stderr.removeListener('data', seen).resume();
      resolve({ process: child, address: `127.0.0.1:${port}` });
    };
    child.stdout.setEncoding('utf8').on('data', seen);
    child.stderr.setEncoding('utf8').on('data', seen);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

const CONTENT_TYPES: Record<string, string> = {
  '.yaml': 'application/x-yaml',
  '.tgz': 'application/gzip',
  '.json': 'application/json',
};

/** The pages folder over HTTP on a free port of 127.0.0.1, read-only, nothing outside it. */
function servePages(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const wanted = decodeURIComponent(new URL(req.url ?? '/', 'http://pages').pathname);
    const file = path.join(dir, path.normalize(wanted === '/' ? '/index.yaml' : wanted));
    let size = -1;
    try {
      if (file.startsWith(`${dir}${path.sep}`)) {
        const stat = statSync(file);
        if (stat.isFile()) size = stat.size;
      }
    } catch {
      // Missing: 404 below.
    }
    if ((req.method !== 'GET' && req.method !== 'HEAD') || size < 0) {
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'Content-Length': size,
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}/` });
    });
  });
}

export async function startRehearsal(options: RehearsalOptions = {}): Promise<Rehearsal> {
  const log = options.log ?? ((chunk: string) => void process.stderr.write(chunk));
  const owner = options.owner ?? 'rehearsal';
  const tools = { crane: goTool('crane'), cosign: goTool('cosign'), helm: goTool('helm') };
  const stateDir = mkdtempSync(path.join(tmpdir(), 'metallb-dyn6-release-'));
  const pagesDir = path.join(stateDir, 'pages');
  mkdirSync(path.join(stateDir, 'registry'));
  mkdirSync(pagesDir);
  let registry: { process: ChildProcess; address: string } | undefined;
  let pages: { server: Server; url: string } | undefined;
  const stop = async () => {
    if (registry !== undefined) {
      // Ctrl-C reaches the whole process group: crane may have ended already, by the signal.
      const child = registry.process;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill();
        await exited;
      }
    }
    if (pages !== undefined) {
      const server = pages.server;
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    registry = await serveRegistry(tools.crane, path.join(stateDir, 'registry'));
    pages = await servePages(pagesDir);
    const env = { ...process.env, COSIGN_PASSWORD: '', ...tools };
    await run(tools.cosign, ['generate-key-pair', '--output-key-prefix', path.join(stateDir, 'cosign')], {
      env,
      log,
    });
    const address = registry.address;
    const pagesUrl = pages.url;
    const publish = async (version?: string): Promise<Published> => {
      const args = [
        path.join(ROOT, 'scripts/release/publish.sh'),
        '--registry',
        address,
        '--owner',
        owner,
        '--sign',
        `key:${path.join(stateDir, 'cosign.key')}`,
        '--plain-http',
        '--pages-dir',
        pagesDir,
        '--pages-url',
        pagesUrl,
        '--out-dir',
        path.join(stateDir, 'out', version ?? 'default'),
        ...(version === undefined ? [] : ['--version', version]),
      ];
      const out = await run('bash', args, {
        env: { ...env, CRANE: tools.crane, COSIGN: tools.cosign, HELM: tools.helm },
        log,
      });
      const lines = Object.fromEntries(
        out
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
      const field = (key: string) => {
        const value = lines[key];
        if (value === undefined) throw new Error(`publish.sh printed no ${key}=: ${out}`);
        return value;
      };
      return {
        version: field('version'),
        image: field('image'),
        digest: field('digest'),
        chart: field('chart'),
        chartDigest: field('chart_digest'),
        chartPackage: field('chart_package'),
        sbom: field('sbom'),
        pagesIndex: field('pages_index'),
      };
    };
    return {
      registry: address,
      owner,
      pagesUrl,
      pagesDir,
      privateKey: path.join(stateDir, 'cosign.key'),
      publicKey: path.join(stateDir, 'cosign.pub'),
      stateDir,
      tools,
      publish,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** What a user of the rehearsed release would type, with this rehearsal's names. */
export function instructions(r: Rehearsal, published: Published[]): string {
  const latest = published[published.length - 1];
  if (latest === undefined) return '';
  const values = '--set metallb.hostRange=::1000-::1999 --set metallb.pool=ipv6-pool';
  const insecure = '--insecure-ignore-tlog=true --allow-insecure-registry';
  return [
    ...published.flatMap((p) => [
      `published ${p.version}:`,
      `  image  ${p.image}`,
      `  chart  ${p.chart}:${p.version} (${p.chartDigest})`,
      `  sbom   ${p.sbom}`,
    ]),
    `chart repository: ${r.pagesUrl}index.yaml`,
    '',
    'Install it as the README shows (classic chart repository):',
    `  helm repo add metallb-dyn6-rehearsal ${r.pagesUrl}`,
    `  helm install metallb-dyn6 metallb-dyn6-rehearsal/metallb-dyn6 --namespace metallb-system ${values}`,
    'or from the OCI registry:',
    `  helm install metallb-dyn6 ${latest.chart} --version ${latest.version} --plain-http --namespace metallb-system ${values}`,
    'Check the signature and the SBOM:',
    `  ${r.tools.cosign} verify --key ${r.publicKey} ${insecure} ${latest.image}`,
    `  ${r.tools.cosign} verify-attestation --key ${r.publicKey} --type cyclonedx ${insecure} ${latest.image}`,
    `(helm: ${r.tools.helm}; cosign: ${r.tools.cosign})`,
  ].join('\n');
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const valueOf = (flag: string) => {
    const at = args.indexOf(flag);
    return at < 0 ? undefined : args[at + 1];
  };
  const unknown = args.filter((a) => a.startsWith('-') && !['--exit', '--previous', '--version'].includes(a));
  if (unknown.length > 0)
    throw new Error(`unknown option(s) ${unknown.join(' ')}: --previous VERSION, --version VERSION, --exit`);
  const rehearsal = await startRehearsal();
  const published: Published[] = [];
  try {
    const previous = valueOf('--previous');
    if (previous !== undefined) published.push(await rehearsal.publish(previous));
    published.push(await rehearsal.publish(valueOf('--version')));
  } catch (e) {
    await rehearsal.stop();
    throw e;
  }
  console.log(instructions(rehearsal, published));
  if (args.includes('--exit')) {
    await rehearsal.stop();
  } else {
    console.log(`\nServing the registry on ${rehearsal.registry} and the chart repository until Ctrl-C.`);
    const shutdown = () => {
      void rehearsal.stop().then(() => process.exit(0));
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  }
}
