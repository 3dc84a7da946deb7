// The cluster node on the LAN, as a kubelet's host would be: kernel SLAAC on its LAN link (and a
// fixed ULA address, its InternalIP), IPv6 forwarding for the Services, a real kube-proxy built at
// the plane's version, and one pod in a namespace of its own behind a veth (the Service's backend).
// Processes in the node reach the apiserver at the same https://127.0.0.1:PORT as everything
// else, through a bridge over a Unix socket (a file, which both namespaces see).
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import type { ManagedProcess } from '../process.js';
import { ManagedProcess as Process } from '../process.js';
import { LAN_ULA } from './home-router.js';
import { connect, Netns } from './netns.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SOCAT = '/usr/bin/socat';

/** The node's fixed address on the LAN (its InternalIP), and its pod network. */
export const NODE_ADDRESS = LAN_ULA.router.replace(/::1$/, '::10');
export const POD_NETWORK = {
  prefix: 'fd00:10:244::/64',
  node: 'fd00:10:244::1',
  pod: 'fd00:10:244::2',
} as const;
export const BACKEND_PORT = 8080;

/** Runs a command in a namespace and resolves with its output, rejecting with its stderr. */
export function execIn(ns: Netns, command: string, args: string[], timeoutMs = 10_000): Promise<string> {
  const [launch = 'ip', ...launchArgs] = ns.launcher;
  return new Promise((resolve, reject) => {
    execFile(launch, [...launchArgs, command, ...args], { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(stderr.trim() || error.message));
    });
  });
}

export interface KubeProxySettings {
  binary: string;
  kubeconfig: string;
  /** Kubernetes minor version: 1.20's kube-proxy has no nftables mode. */
  legacy: boolean;
}

export class NodeHost {
  readonly pod: Netns;
  private kubeProxy: ManagedProcess | undefined;

  constructor(
    readonly ns: Netns,
    readonly name: string,
    private readonly dir: string,
  ) {
    this.pod = Netns.create('pod');
  }

  /** The LAN link `lan0` exists already; addresses, forwarding, and the pod behind its veth. */
  setup(): void {
    for (const setting of [
      'net.ipv6.conf.all.accept_dad=0',
      'net.ipv6.conf.default.accept_dad=0',
      'net.ipv6.conf.lan0.accept_dad=0',
      // A router for its Services' traffic, and still a SLAAC host (accept_ra=2).
      'net.ipv6.conf.all.forwarding=1',
      'net.ipv6.conf.lan0.accept_ra=2',
      'net.ipv6.conf.lan0.autoconf=1',
    ])
      this.ns.sysctl(setting);
    this.ns.ip('addr', 'add', `${NODE_ADDRESS}/64`, 'dev', 'lan0', 'nodad');
    connect(this.ns, 'pod0', this.pod, 'eth0');
    this.ns.ip('addr', 'add', `${POD_NETWORK.node}/64`, 'dev', 'pod0', 'nodad');
    this.pod.sysctl('net.ipv6.conf.eth0.accept_dad=0');
    this.pod.ip('addr', 'add', `${POD_NETWORK.pod}/64`, 'dev', 'eth0', 'nodad');
    this.pod.ip('-6', 'route', 'add', 'default', 'via', POD_NETWORK.node);
    this.pod.spawn(
      'backend',
      process.execPath,
      [path.join(HERE, 'http-responder.mjs'), 'backend', 'web', String(BACKEND_PORT)],
      path.join(this.dir, 'backend.log'),
    );
  }

  /** https://127.0.0.1:PORT inside the node reaches the apiserver's https://127.0.0.1:PORT. */
  bridgeApiserver(server: string): void {
    const port = new URL(server).port;
    const socket = path.join(tmpdir(), `${this.ns.name}-api.sock`);
    const outside = new Process(
      'apiserver bridge (host)',
      SOCAT,
      [`UNIX-LISTEN:${socket},fork,unlink-early`, `TCP4:127.0.0.1:${port}`],
      path.join(this.dir, 'bridge.log'),
    );
    this.bridge = outside;
    this.ns.spawn(
      'apiserver bridge (node)',
      SOCAT,
      [`TCP4-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${socket}`],
      path.join(this.dir, 'bridge.log'),
    );
  }

  private bridge: ManagedProcess | undefined;

  /** Starts kube-proxy for this node and waits until it has programmed the node's rules once. */
  async startKubeProxy(settings: KubeProxySettings): Promise<void> {
    const config = path.join(this.dir, 'kube-proxy.yaml');
    writeFileSync(
      config,
      [
        'apiVersion: kubeproxy.config.k8s.io/v1alpha1',
        'kind: KubeProxyConfiguration',
        `mode: ${settings.legacy ? 'iptables' : 'nftables'}`,
        `clientConnection: {kubeconfig: ${settings.kubeconfig}}`,
        `hostnameOverride: ${this.name}`,
        // The node's IPv6 address makes IPv6 the family kube-proxy serves first.
        `bindAddress: "${NODE_ADDRESS}"`,
        'healthzBindAddress: "127.0.0.1:10256"',
        'metricsBindAddress: "127.0.0.1:10249"',
        // nf_conntrack_max is the host's, read-only from a namespace: leave conntrack as it is.
        'conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}',
        'detectLocalMode: ClusterCIDR',
        `clusterCIDR: "${POD_NETWORK.prefix}"`,
        '',
      ].join('\n'),
    );
    this.kubeProxy = this.ns.spawn(
      'kube-proxy',
      settings.binary,
      [`--config=${config}`, '--v=2'],
      path.join(this.dir, 'kube-proxy.log'),
    );
    const proxy = this.kubeProxy;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const metrics = await execIn(this.ns, 'curl', ['-fsS', 'http://127.0.0.1:10249/metrics']).catch(
        () => '',
      );
      if (/^kubeproxy_sync_proxy_rules_last_timestamp_seconds(\{[^}]*IPv6[^}]*\})? [1-9]/m.test(metrics))
        return;
      if (!proxy.running) throw new Error(`kube-proxy exited: ${proxy.tail()}`);
      if (Date.now() > deadline) throw new Error(`kube-proxy did not sync within 60 s: ${proxy.tail()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.ns.stop(), this.pod.stop(), this.bridge?.stop(1000)]);
    this.pod.delete();
  }
}
