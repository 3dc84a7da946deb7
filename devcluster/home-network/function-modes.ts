// metallb-dyn6 on the home network's node, in each way a home lab runs it: told by the router
// (push: the `serve` runtime, the router's hook POSTs the delegated prefix), reading the node's
// own addresses on a schedule (interface), or asking a public-IP echo service on a schedule
// (scheduled, my-ip style). The released bundle, as its own process, like a pod's container.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startCli, type CliProcess } from '../cli.js';
import { ECHO_URL } from './isp.js';
import type { Netns } from './netns.js';
import { NODE_ADDRESS } from './node-host.js';

export type Mode = 'push' | 'interface' | 'scheduled';
export const MODES: Mode[] = ['push', 'interface', 'scheduled'];

/** Seconds between the scheduled modes' syncs. */
export const INTERVAL_S = 5;
const PUSH_PORT = 8080;

export interface FunctionOptions {
  mode: Mode;
  keepHostParts: boolean;
  /** The home cluster's environment for the CLI (kubeconfig, pool, namespace, host range). */
  env: Record<string, string>;
  node: Netns;
  dir: string;
}

export interface RunningFunction {
  /** Push mode: where the router POSTs, and the file with the bearer token. */
  push?: { url: string; tokenFile: string };
  /** The result documents it printed so far (one per sync). */
  results(): { status: string; prefix?: string; after?: string[] }[];
  stop(): Promise<void>;
}

const TOKEN = 'home-router-push-token-0123456789';

export async function startFunction(options: FunctionOptions): Promise<RunningFunction> {
  const common = {
    ...options.env,
    METALLB_DYN6_KEEP_HOST_PARTS: options.keepHostParts ? 'all' : 'none',
    METALLB_DYN6_LOG_LEVEL: 'info',
  };
  const byMode: Record<Mode, { args: string[]; env: Record<string, string> }> = {
    // The router pushes the whole delegation: the pool goes in its first /64, where the LAN is.
    push: {
      args: ['serve'],
      env: { METALLB_DYN6_PORT: String(PUSH_PORT), METALLB_DYN6_HTTP_TOKEN: TOKEN },
    },
    interface: {
      args: ['run', `--interval=${String(INTERVAL_S)}s`],
      env: { METALLB_DYN6_SOURCE: 'interface:lan0' },
    },
    scheduled: {
      args: ['run', `--interval=${String(INTERVAL_S)}s`],
      env: { METALLB_DYN6_SOURCE: 'my-ip', METALLB_DYN6_MY_IP_URL: ECHO_URL },
    },
  };
  const chosen = byMode[options.mode];
  const cli: CliProcess = startCli(
    chosen.args,
    { ...common, ...chosen.env },
    60 * 60_000,
    options.node.launcher,
  );
  const running: RunningFunction = {
    results: () =>
      cli
        .output()
        .stdout.split('\n')
        .filter((line) => line.startsWith('{') && line.includes('"status"'))
        .map((line) => JSON.parse(line) as { status: string; prefix?: string; after?: string[] }),
    async stop() {
      cli.child.kill('SIGTERM');
      await cli.done;
    },
  };
  if (options.mode !== 'push') return running;
  const tokenFile = path.join(options.dir, 'push-token');
  writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  // The router's hook may fire as soon as the function listens.
  const deadline = Date.now() + 30_000;
  while (!cli.output().stdout.includes('"listening"') && !cli.output().stderr.includes('"listening"')) {
    if (cli.child.exitCode !== null || Date.now() > deadline)
      throw new Error(`serve did not listen: ${cli.output().stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { ...running, push: { url: `http://[${NODE_ADDRESS}]:${String(PUSH_PORT)}/`, tokenFile } };
}
