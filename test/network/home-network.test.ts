// The one sentence users need, observed end to end: after the ISP changes the prefix, their IPv6
// LoadBalancer Service answers on the new prefix. A DHCPv6 server delegates a /56 to a home router
// (dhclient -6 -P, radvd), the node forms its addresses by SLAAC, metallb-dyn6 learns the prefix
// (pushed by the router's hook, from the node's interface, or from an echo service on the
// internet), MetalLB's real controller moves the Service and its real speaker answers neighbour
// solicitations on the LAN, a real kube-proxy forwards to the backend pod, and a LAN client's HTTP
// request (and one from beyond the router) gets the backend's answer. Times are printed, never
// asserted: `npm run bench -- --network` measures them.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { testKubernetesVersion, type KubernetesVersion } from '../../devcluster/binaries.js';
import { readPool } from '../../devcluster/metallb-fixture.js';
import { goToBuild } from '../../devcluster/metallb-runtime.js';
import {
  startFunction,
  type Mode,
  type RunningFunction,
} from '../../devcluster/home-network/function-modes.js';
import {
  answeredUnder,
  DELEGATIONS,
  installHome,
  lanOf,
  removeHome,
  renumber,
  startHomeLab,
  syncOnto,
  type HomeLab,
} from '../../devcluster/home-network/home-lab.js';
import { NETWORK_PROGRAMS } from '../../devcluster/home-network/home-network.js';
import { webAddress } from '../../devcluster/home-network/web-service.js';
import { describeIf, type Condition } from '../support/declared-skips.js';
import type { HomeCluster } from '../../devcluster/home-cluster.js';

const PLANE = testKubernetesVersion();

/** MetalLB < 0.14.2 needs a restart (metallb-dyn6 cycles its pods); later ones reload by themselves. */
const RELEASES: Record<KubernetesVersion, string[]> = {
  '1.20': ['v0.13.12'],
  '1.35': ['v0.13.12', 'v0.14.9', 'v0.15.3'],
  '1.37': ['v0.13.12', 'v0.14.9', 'v0.15.3'],
};

function homeNetworkPossible(): Condition {
  const go = goToBuild('MetalLB and kube-proxy', '1.24');
  if (go !== true) return go;
  const missing = NETWORK_PROGRAMS.filter((p) => !existsSync(p));
  let why = missing.length > 0 ? `missing ${missing.join(', ')}` : undefined;
  if (why === undefined && process.getuid?.() !== 0) why = 'not root: network namespaces need CAP_SYS_ADMIN';
  if (why === undefined) return true;
  if (process.env['CI'] === 'true') throw new Error(`the home network cannot be built here: ${why}`);
  return { unavailable: why };
}

const hostPart = (address: string) => address.split(':').slice(4).join(':');

/** What a sync that changed nothing leaves: the pool's version, MetalLB's pods, the Service's address. */
async function snapshot(lab: HomeLab, home: HomeCluster) {
  const pods = await lab.cluster.admin
    .makeApiClient(CoreV1Api)
    .listNamespacedPod({ namespace: home.namespace });
  return {
    pool: (await readPool(lab.cluster.admin, home.namespace, home.pool)).metadata.resourceVersion,
    pods: pods.items.map((p) => p.metadata?.uid ?? '').sort(),
    address: await webAddress(lab.cluster.admin, home.namespace),
  };
}

describeIf(
  homeNetworkPossible(),
  'no-home-network',
  `a home network renumbered by its ISP (Kubernetes ${PLANE})`,
  () => {
    let lab: HomeLab;

    beforeAll(async () => {
      lab = await startHomeLab(PLANE);
      await lab.network.delegate(DELEGATIONS[0], false, { deprecate: true });
    }, 600_000);

    afterAll(async () => {
      // Undefined when starting it failed.
      await (lab as HomeLab | undefined)?.stop();
    });

    describe.each(RELEASES[PLANE])('MetalLB %s', (version) => {
      let home: HomeCluster;

      beforeAll(async () => {
        home = await installHome(lab, version);
      }, 600_000);

      afterAll(async () => {
        await removeHome(lab, home);
      });

      async function withFunction(
        mode: Mode,
        keepHostParts: boolean,
        body: (fn: RunningFunction) => Promise<void>,
      ): Promise<void> {
        const fn = await startFunction({
          mode,
          keepHostParts,
          env: home.env({ METALLB_DYN6_PORT: '8080' }),
          node: lab.network.node.ns,
          dir: path.join(lab.cluster.runDir, 'home-network'),
        });
        try {
          if (fn.push !== undefined) {
            // The function learns a prefix only when the router tells it: the router reconnects and
            // pushes the delegation it has now.
            const current = lab.network.router.current() ?? DELEGATIONS[0];
            await lab.network.delegate(current, true, { deprecate: true, push: fn.push });
          }
          await body(fn);
        } finally {
          await fn.stop();
        }
      }

      /** Renumbers and checks what a user would: the new address answers, from the LAN and beyond; the old one is gone. */
      async function renumbered(mode: Mode, keepHostParts: boolean, deprecate = true): Promise<void> {
        await withFunction(mode, keepHostParts, async (fn) => {
          const moved = await renumber(lab, home, {
            deprecate,
            ...(fn.push === undefined ? {} : { push: fn.push }),
          });
          expect(moved.after.startsWith(lanOf(moved.to))).toBe(true);
          if (keepHostParts) expect(hostPart(moved.after)).toBe(hostPart(moved.before));
          // The LAN client may be answered while the sync still waits for MetalLB's replacement
          // pods: a host beyond the router is asked once the function says the sync is done.
          const sync = await syncOnto(lab, fn, moved.to, moved.delegatedAt);
          expect(sync.status).toBe('updated');
          const internet = await lab.network.answerFromInternet(moved.after, 10_000);
          expect({ old: moved.before, answeredBy: await lab.network.neighbourAnswer(moved.before) }).toEqual({
            old: moved.before,
            answeredBy: undefined,
          });
          console.log(
            `MetalLB ${version}, ${mode}${keepHostParts ? ', keeping host parts' : ''}${deprecate ? '' : ', old prefix not deprecated'}: ` +
              `${moved.before} → ${moved.after}; answered ${String(moved.answeredAt - moved.delegatedAt)} ms after the delegation, ` +
              `unreachable for ${String(moved.answeredAt - moved.lastAnswerBefore)} ms; ` +
              `answered beyond the router ${String(internet.afterMs)} ms after the sync reported` +
              (internet.failures.length > 0 ? ` (unanswered before: ${internet.failures.join('; ')})` : ''),
          );
        });
      }

      it.each(['push', 'interface', 'scheduled'] as Mode[])(
        'the ISP hands out a new /56 (%s): a LAN client and a host beyond the router get the answer at the new address, and the old one is no longer answered',
        async (mode) => {
          await renumbered(mode, false);
        },
        240_000,
      );

      it.each(['interface', 'push'] as Mode[])(
        'a router that does not deprecate the old prefix (%s): the Service still moves to the new one',
        async (mode) => {
          await renumbered(mode, false, false);
        },
        240_000,
      );

      it('an ISP outage (no delegation for 25 s): nothing is written, MetalLB is not restarted, the Service keeps answering', async () => {
        await withFunction('interface', false, async (fn) => {
          const lan = lanOf(lab.network.router.current() ?? '');
          await answeredUnder(lab, home, lan, 60_000);
          const before = await snapshot(lab, home);
          const runsBefore = fn.results().length;
          await lab.network.isp.stop();
          // Each unanswered request with when (ms into the outage) and how it failed.
          const unanswered: { at: number; error: string }[] = [];
          const outage = Date.now();
          for (const end = outage + 25_000; Date.now() < end;) {
            const answer = await lab.network.get(before.address ?? '', 'client', 1);
            if (!answer.ok) unanswered.push({ at: Date.now() - outage, error: answer.body });
            await new Promise((r) => setTimeout(r, 1000));
          }
          const current = lab.network.router.current() ?? '';
          await lab.network.isp.serve(current, true);
          // One more scheduled run after the ISP is back.
          await new Promise((r) => setTimeout(r, 6000));
          expect(unanswered).toEqual([]);
          expect(await snapshot(lab, home)).toEqual(before);
          const runs = fn.results().slice(runsBefore);
          expect(runs.length).toBeGreaterThanOrEqual(4);
          expect(runs.filter((r) => r.status !== 'unchanged')).toEqual([]);
        });
      }, 240_000);

      it.each(['push', 'interface'] as Mode[])(
        'the delegation comes back unchanged after a reconnect (%s): no write, no restart',
        async (mode) => {
          await withFunction(mode, false, async (fn) => {
            const current = lab.network.router.current() ?? '';
            await answeredUnder(lab, home, lanOf(current), 60_000);
            const before = await snapshot(lab, home);
            const runsBefore = fn.results().length;
            const started = Date.now();
            await lab.network.delegate(current, true, {
              deprecate: true,
              ...(fn.push === undefined ? {} : { push: fn.push }),
            });
            if (mode === 'push') {
              const pushed = await (async () => {
                for (const end = Date.now() + 20_000; Date.now() < end;) {
                  const event = lab.network.router
                    .events()
                    .find((e) => e.event === 'pushed' && e.at >= started);
                  if (event !== undefined) return event;
                  await new Promise((r) => setTimeout(r, 100));
                }
                return undefined;
              })();
              expect(pushed).toMatchObject({ prefix: current, detail: '200' });
              expect(lab.network.router.pushAnswer()).toMatchObject({ status: 'unchanged' });
            } else {
              // Two scheduled runs after the reconnect.
              await new Promise((r) => setTimeout(r, 11_000));
            }
            expect(await snapshot(lab, home)).toEqual(before);
            expect(
              fn
                .results()
                .slice(runsBefore)
                .filter((r) => r.status !== 'unchanged'),
            ).toEqual([]);
          });
        },
        240_000,
      );

      it.each(['push', 'interface', 'scheduled'] as Mode[])(
        'the ISP hands out a new /56 (%s, keeping host parts): the Service answers at the same host part under the new prefix',
        async (mode) => {
          await renumbered(mode, true);
        },
        240_000,
      );
    });
  },
);
