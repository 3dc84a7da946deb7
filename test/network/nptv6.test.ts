// A home router doing NPTv6 in a network namespace, with the Linux kernel's own translation: nftables
// netmap (`snat/dnat ip6 prefix to`), or ip6tables SNPT/DNPT (RFC 6296). Behind it a Service's
// backend on its ULA address; outside it a client. The released CLI (`sync --nptv6`) publishes the
// Service's public address in its external-dns target annotation, and the client reaches the backend
// there, before and after the ISP's prefix changes, for a /64, a /56 and a /48 delegation — and, with
// RFC 6296, not at "new prefix + inside host part", which is why the computation matters. The
// Service's inside address is set in its status as MetalLB sets it (no MetalLB runs here).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import ipaddr from 'ipaddr.js';
import { REPO_ROOT } from '../../devcluster/binaries.js';
import { connect, Netns, removeStaleNamespaces } from '../../devcluster/home-network/netns.js';
import { networkOf } from '../../lib/prefix/ipv6.js';
import { translatePrefix, type Translation } from '../../lib/prefix/nptv6.js';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { runCli } from '../../devcluster/cli.js';
import { createLoadBalancer } from '../../devcluster/metallb-fixture.js';
import { adminKubeConfig, createTestNamespace, sharedCluster } from '../../devcluster/shared-cluster.js';
import { PUBLISH_ANNOTATION, TARGET_ANNOTATIONS } from '../../lib/plan/host-parts.js';
import { describeIf, type Condition } from '../support/declared-skips.js';
import { exclusiveDuringSuite, LOAD_BALANCER_SERVICES } from '../support/exclusive.js';

const PORT = '8080';
const TRANSIT = { router: '2001:db8:ffff::1', client: '2001:db8:ffff::2' };

interface Delegation {
  length: number;
  inside: string;
  /** The ISP's prefix before and after it renumbers. */
  outside: [string, string];
  backend: string;
}

const DELEGATIONS: Delegation[] = [
  {
    length: 64,
    inside: 'fd00:1234:5678:ab00::',
    outside: ['2a02:8071:1234:5600::', '2a02:8071:4321:ab00::'],
    backend: 'fd00:1234:5678:ab00::1005',
  },
  {
    length: 56,
    inside: 'fd00:1234:5678:ab00::',
    outside: ['2a02:8071:1234:5600::', '2a02:8071:4321:ab00::'],
    backend: 'fd00:1234:5678:abcd::1005',
  },
  {
    length: 48,
    inside: 'fd00:1234:5678::',
    outside: ['2a02:8071:1234::', '2a02:8071:4321::'],
    backend: 'fd00:1234:5678:cd::1005',
  },
];

function namespacesAndTools(): Condition {
  for (const tool of ['nft', 'ip6tables', 'curl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'pipe' });
    } catch {
      return { unavailable: `${tool} is not installed (scripts/provision-test-tools.sh installs it)` };
    }
  }
  try {
    const probe = Netns.create('probe');
    probe.delete();
    return true;
  } catch (error) {
    return { unavailable: `ip netns add: ${String(error)}`.split('\n')[0] ?? '' };
  }
}

/** The router's rules for one translation between `inside` and `outside` (both /length) on its outside link. */
function translateOn(router: Netns, translation: Translation, inside: string, outside: string): void {
  // Whatever translated before goes (ip6tables here is iptables-nft: its rules are nftables tables too).
  router.exec('nft', 'flush', 'ruleset');
  if (translation === 'netmap') {
    router.exec(
      'nft',
      [
        'table ip6 nptv6 {',
        `  chain pre { type nat hook prerouting priority dstnat; iifname "out" ip6 daddr ${outside} dnat ip6 prefix to ${inside}; }`,
        `  chain post { type nat hook postrouting priority srcnat; oifname "out" ip6 saddr ${inside} snat ip6 prefix to ${outside}; }`,
        '}',
      ].join('\n'),
    );
    return;
  }
  router.exec(
    'ip6tables',
    '-t',
    'mangle',
    '-A',
    'POSTROUTING',
    '-o',
    'out',
    '-s',
    inside,
    '-j',
    'SNPT',
    '--src-pfx',
    inside,
    '--dst-pfx',
    outside,
  );
  router.exec(
    'ip6tables',
    '-t',
    'mangle',
    '-A',
    'PREROUTING',
    '-i',
    'out',
    '-d',
    outside,
    '-j',
    'DNPT',
    '--src-pfx',
    outside,
    '--dst-pfx',
    inside,
  );
}

/** Waits until the backend answers on its own address, from inside its namespace (a loaded machine starts node slowly). */
async function answering(host: Netns, address: string): Promise<void> {
  for (const deadline = Date.now() + 30_000; ;) {
    try {
      host.exec('curl', '-s', '-m', '1', `http://[${address}]:${PORT}/`);
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`the backend did not answer at ${address} within 30 s`, { cause: error });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describeIf(
  namespacesAndTools(),
  'no-network-namespaces',
  'NPTv6: the published address is where the router takes a client',
  () => {
    // Each delegation's Service is deleted before the lock is let go (its own afterAll runs first).
    exclusiveDuringSuite(LOAD_BALANCER_SERVICES);
    describe.each(DELEGATIONS)('a /$length delegation', (delegation) => {
      const { length, backend } = delegation;
      const inside = `${delegation.inside}/${String(length)}`;
      let router: Netns;
      let client: Netns;
      let host: Netns;
      let namespace: string;
      const core = adminKubeConfig().makeApiClient(CoreV1Api);

      beforeAll(async () => {
        removeStaleNamespaces();
        router = Netns.create('router');
        client = Netns.create('client');
        host = Netns.create('backend');
        connect(router, 'in', host, 'eth0');
        connect(router, 'out', client, 'eth0');
        const lan = networkOf(ipaddr.IPv6.parse(backend), 64).toString();
        router.ip('addr', 'add', `${lan}1/64`, 'dev', 'in', 'nodad');
        router.ip('addr', 'add', `${TRANSIT.router}/64`, 'dev', 'out', 'nodad');
        router.sysctl('net.ipv6.conf.all.forwarding=1');
        host.ip('addr', 'add', `${backend}/64`, 'dev', 'eth0', 'nodad');
        host.ip('-6', 'route', 'add', 'default', 'via', `${lan}1`);
        client.ip('addr', 'add', `${TRANSIT.client}/64`, 'dev', 'eth0', 'nodad');
        for (const outside of delegation.outside)
          client.ip('-6', 'route', 'add', `${outside}/${String(length)}`, 'via', TRANSIT.router);
        host.spawn(
          'backend',
          process.execPath,
          [path.join(REPO_ROOT, 'devcluster/home-network/http-responder.mjs'), 'backend', 'web', PORT],
          path.join(REPO_ROOT, '.run', `${host.name}.log`),
        );
        await answering(host, backend);
        // The Service, opted in (other suites' Services share this control plane), with the inside
        // address MetalLB would have given it from a stable ULA pool.
        namespace = await createTestNamespace(`nptv6-${String(length)}`);
        await createLoadBalancer(adminKubeConfig(), namespace, 'web', {
          annotations: { [PUBLISH_ANNOTATION]: 'true' },
        });
        await core.patchNamespacedServiceStatus(
          { namespace, name: 'web', body: { status: { loadBalancer: { ingress: [{ ip: backend }] } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      });

      afterAll(async () => {
        // Gone, so that the next delegation's run (whose inside prefix holds this address too) finds only its own.
        await core.deleteNamespacedService({ namespace, name: 'web' });
        for (const ns of [host, client, router]) {
          await ns.stop();
          ns.delete();
        }
      });

      /** What the client gets at `address`: the backend's answer, or undefined when nothing answers. */
      function fetchAt(address: string): string | undefined {
        try {
          return client.exec('curl', '-s', '-m', '2', `http://[${address}]:${PORT}/`).trim();
        } catch {
          return undefined;
        }
      }

      /**
       * What the client gets at `address`, tried until something answers or 15 s pass: a fresh topology's
       * first connection waits on neighbour discovery and a retransmitted SYN, past one curl's timeout
       * on a loaded machine.
       */
      async function answerAt(address: string): Promise<string | undefined> {
        for (const deadline = Date.now() + 15_000; ;) {
          const answer = fetchAt(address);
          if (answer !== undefined || Date.now() > deadline) return answer;
          await new Promise((r) => setTimeout(r, 200));
        }
      }

      /** One `sync --nptv6` run with the ISP's prefix `prefix`; the target it leaves on the Service. */
      async function publish(translation: Translation, prefix: string): Promise<string | undefined> {
        const run = await runCli(['sync'], {
          KUBECONFIG: sharedCluster().adminKubeconfig,
          METALLB_DYN6_NPTV6: translation,
          METALLB_DYN6_NPTV6_INSIDE: inside,
          METALLB_DYN6_NPTV6_PUBLISH: 'annotated',
          METALLB_DYN6_DELEGATED_PREFIX_LENGTH: String(length),
          METALLB_DYN6_SOURCE: `static:${prefix}9`,
        });
        expect(run.code).toBe(0);
        const service = await core.readNamespacedService({ namespace, name: 'web' });
        const [target, legacy] = TARGET_ANNOTATIONS.map((a) => service.metadata?.annotations?.[a]);
        expect(legacy).toBe(target);
        return target;
      }

      it.each<[Translation]>([['netmap'], ['rfc6296']])(
        '%s: before and after the ISP renumbers',
        async (translation) => {
          for (const prefix of delegation.outside) {
            translateOn(router, translation, inside, `${prefix}/${String(length)}`);
            const published = await publish(translation, prefix);
            expect(published).toBeDefined();
            expect(await answerAt(published ?? '')).toBe(`web ${backend}`);
            const naive =
              translatePrefix(
                ipaddr.IPv6.parse(backend),
                ipaddr.IPv6.parse(delegation.inside),
                ipaddr.IPv6.parse(prefix),
                length,
                'netmap',
              )?.toString() ?? '';
            if (translation === 'rfc6296') {
              // The checksum adjustment moved the address: the prefix swap alone reaches nothing.
              expect(published).not.toBe(naive);
              expect(fetchAt(naive)).toBeUndefined();
            } else {
              expect(published).toBe(naive);
            }
          }
        },
      );
    });
  },
);
