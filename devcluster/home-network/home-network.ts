// A home network around a test cluster's node, in network namespaces:
//
//   internet host + ISP (dhcpd -6) ── wan ── home router (dhclient -6 -P, radvd) ── LAN bridge ──┬── node
//                                                                                                 └── client
//
// The node runs MetalLB's real speaker (through the cluster's MetalLB runtime), a real kube-proxy
// and the Service's backend pod; the function runs in it too (the tests start it there). Nothing is
// told a prefix by hand: it comes from the ISP's delegation, as at home.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { statusCode } from '../../lib/cluster/api-error.js';
import { kubeconfigYaml, type ClusterAccess } from '../kubeconfig.js';
import type { MetalLBRuntime } from '../metallb-runtime.js';
import { DHCLIENT, HomeRouter, type RouterOptions } from './home-router.js';
import { DHCPD, Isp } from './isp.js';
import { connect, Netns, removeStaleNamespaces } from './netns.js';
import { execIn, NODE_ADDRESS, NodeHost, SOCAT } from './node-host.js';

/** The programs a home network needs on this machine (scripts/provision-test-tools.sh installs them). */
export const NETWORK_PROGRAMS = [DHCPD, DHCLIENT, SOCAT, '/usr/sbin/radvd', '/usr/bin/curl', '/usr/sbin/nft'];

export interface HomeNetworkOptions {
  admin: KubeConfig;
  access: ClusterAccess;
  runtime: MetalLBRuntime;
  /** The Node object the node host is (it must exist, with NODE_ADDRESS as its InternalIP). */
  nodeName: string;
  kubeProxy: { binary: string; legacy: boolean };
  dir: string;
}

/** What a request from a host of the network got. */
export interface Answer {
  ok: boolean;
  body: string;
}

async function createIfAbsent(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (statusCode(error) !== 409) throw error;
  }
}

/** kube-proxy's identity, as kubeadm sets it up: a ServiceAccount bound to system:node-proxier. */
async function kubeProxyKubeconfig(admin: KubeConfig, access: ClusterAccess, file: string): Promise<string> {
  const core = admin.makeApiClient(CoreV1Api);
  const namespace = 'kube-system';
  await createIfAbsent(() => core.createNamespace({ body: { metadata: { name: namespace } } }));
  await createIfAbsent(() =>
    core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'kube-proxy' } } }),
  );
  await createIfAbsent(() =>
    admin.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({
      body: {
        metadata: { name: 'metallb-dyn6-test:kube-proxy' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node-proxier' },
        subjects: [{ kind: 'ServiceAccount', name: 'kube-proxy', namespace }],
      },
    }),
  );
  const issued = await core.createNamespacedServiceAccountToken({
    namespace,
    name: 'kube-proxy',
    body: { spec: { audiences: [], expirationSeconds: 86_400 } },
  });
  const token = issued.status?.token;
  if (token === undefined) throw new Error('no token issued for kube-proxy');
  writeFileSync(file, kubeconfigYaml(access, 'kube-proxy', token), { mode: 0o600 });
  return file;
}

export class HomeNetwork {
  private constructor(
    readonly isp: Isp,
    readonly router: HomeRouter,
    readonly node: NodeHost,
    readonly client: Netns,
  ) {}

  static async start(options: HomeNetworkOptions): Promise<HomeNetwork> {
    removeStaleNamespaces();
    mkdirSync(options.dir, { recursive: true });
    const spaces: Netns[] = [];
    const create = (role: string) => {
      const ns = Netns.create(role);
      spaces.push(ns);
      return ns;
    };
    const dirFor = (role: string) => {
      const dir = path.join(options.dir, role);
      mkdirSync(dir, { recursive: true });
      return dir;
    };
    const isp = new Isp(create('isp'), dirFor('isp'));
    const router = new HomeRouter(create('router'), dirFor('router'));
    const node = new NodeHost(create('node'), options.nodeName, dirFor('node'));
    const client = create('client');
    const network = new HomeNetwork(isp, router, node, client);
    try {
      connect(isp.ns, 'isp0', router.ns, 'wan0');
      isp.setup();
      await router.setup();
      connect(router.ns, 'lan-node', node.ns, 'lan0');
      router.lanPort('lan-node');
      connect(router.ns, 'lan-client', client, 'lan0');
      router.lanPort('lan-client');
      for (const setting of ['all.accept_dad=0', 'lan0.accept_dad=0', 'lan0.accept_ra=1', 'lan0.autoconf=1'])
        client.sysctl(`net.ipv6.conf.${setting}`);
      node.setup();
      node.bridgeApiserver(options.access.server);
      options.runtime.hostNode(options.nodeName, { launcher: node.ns.launcher, address: NODE_ADDRESS });
      const kubeconfig = await kubeProxyKubeconfig(
        options.admin,
        options.access,
        path.join(dirFor('node'), 'kube-proxy.kubeconfig'),
      );
      await node.startKubeProxy({ ...options.kubeProxy, kubeconfig });
    } catch (error) {
      await network.stop();
      throw error;
    }
    return network;
  }

  /**
   * The ISP delegates `prefix` and the router takes it: resolves once the router's LAN is on it.
   * `keepBindings` false withdraws whatever the ISP delegated before (a renumbering).
   */
  async delegate(prefix: string, keepBindings: boolean, router: RouterOptions): Promise<void> {
    await this.router.release();
    await this.isp.serve(prefix, keepBindings);
    this.router.configure(router);
    this.router.connect();
    await this.untilRouterOn(prefix);
  }

  private async untilRouterOn(prefix: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.router.current() !== prefix) {
      if (Date.now() > deadline)
        throw new Error(
          `the router's LAN is on ${this.router.current() ?? 'no prefix'}, not ${prefix}: ${JSON.stringify(this.router.events().slice(-8))}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** An HTTP GET from the LAN client, or from the internet host beyond the router. */
  async get(address: string, from: 'client' | 'internet' = 'client', timeoutS = 2): Promise<Answer> {
    const ns = from === 'client' ? this.client : this.isp.ns;
    try {
      const body = await execIn(ns, 'curl', ['-fsS', '-g', '-m', String(timeoutS), `http://[${address}]/`]);
      return { ok: true, body: body.trim() };
    } catch (error) {
      return { ok: false, body: (error as Error).message };
    }
  }

  /**
   * The first answer from beyond the router at `address`, asked every 100 ms until `timeoutMs`:
   * how long it took and the requests that failed before it. Throws with those failures and what
   * the path depends on (the ISP's route, the router's neighbour entry).
   */
  async answerFromInternet(
    address: string,
    timeoutMs: number,
  ): Promise<{ afterMs: number; failures: string[] }> {
    const started = Date.now();
    const failures: string[] = [];
    for (;;) {
      const answer = await this.get(address, 'internet', 1);
      const afterMs = Date.now() - started;
      if (answer.ok) return { afterMs, failures };
      failures.push(`${String(afterMs)} ms: ${answer.body}`);
      if (afterMs > timeoutMs)
        throw new Error(
          `no answer at ${address} from beyond the router within ${String(timeoutMs)} ms (${failures.slice(-3).join('; ')}); ${this.pathFromInternet(address)}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private pathFromInternet(address: string): string {
    const routes = this.isp.ns.ip('-6', 'route', 'show', 'proto', '99').trim().split('\n').join(', ');
    const entry = this.router.ns.neighbour('br0', address);
    return (
      `the ISP's routes to delegations: ${routes === '' ? 'none' : routes}; ` +
      `the router's neighbour entry: ${entry === undefined ? 'none' : `${entry.state} ${entry.lladdr ?? ''}`.trim()}`
    );
  }

  /**
   * Who answers a LAN host's neighbour solicitation for `address`: the client's entry is deleted, a
   * connection attempted, and the kernel's neighbour table read. The link-layer address of the
   * answer, or undefined when no one answered. Only REACHABLE is an answer: an entry the kernel
   * still had (STALE, then DELAY and PROBE, all unconfirmed) is not, and a speaker never sees the
   * unicast probes that would confirm it.
   */
  async neighbourAnswer(address: string): Promise<string | undefined> {
    try {
      this.client.ip('-6', 'neigh', 'del', address, 'dev', 'lan0');
    } catch {
      // No entry yet.
    }
    await this.get(address, 'client', 3);
    const entry = this.client.neighbour('lan0', address);
    return entry?.state === 'REACHABLE' ? entry.lladdr : undefined;
  }

  /** Stops everything without a word to the ISP (a release to a stopped dhcpd retries for seconds). */
  async stop(): Promise<void> {
    await Promise.all([this.isp.ns.stop(), this.router.ns.stop(), this.node.stop(), this.client.stop()]);
    for (const ns of [this.isp.ns, this.router.ns, this.node.ns, this.client]) ns.delete();
  }
}
