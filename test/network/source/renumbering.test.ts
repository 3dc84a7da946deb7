// The ISP renumbers, and the router tells the LAN as real routers do: radvd (Debian's) in a network
// namespace announces prefixes, the node's kernel forms its own SLAAC addresses, and the interface
// source reads them. Each case: one sync puts the pool on the prefix the router announces now, and
// the next sync leaves it there.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterEach, expect, it } from '@jest/globals';
import { jsonLogger } from '../../../lib/log/logger.js';
import { interfaceSource } from '../../../lib/source/interface.js';
import { syncOnce } from '../../../lib/sync/sync-once.js';
import { describeIf, type Condition } from '../../support/declared-skips.js';
import { RADVD } from '../../../devcluster/binaries.js';
import { hasStable, RouterLan, type Announced } from '../../support/router-lan.js';
import { homeCluster, range, syncTargetFor, type HomeCluster } from '../../../devcluster/home-cluster.js';
import { syncSettings } from '../../support/sync-settings.js';

const V4 = '192.168.178.240/28';
// Three delegations, in numeric order: the ISP's next one may be lower or higher than the last.
const LOW = '2a02:8071:1234:5500';
const OLD = '2a02:8071:1234:5600';
const HIGH = '2a02:8071:1234:56cd';
const ULA = 'fd00:8071:1234:5600';
const announced = (subnet: string, lifetimes: Omit<Announced, 'prefix'> = {}): Announced => ({
  prefix: `${subnet}::/64`,
  ...lifetimes,
});

function namespacesAndRadvd(): Condition {
  if (!existsSync(RADVD))
    return { unavailable: `${RADVD} is not installed (scripts/provision-test-tools.sh installs it)` };
  const probe = `probe-${randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
    return true;
  } catch (error) {
    return { unavailable: `ip netns add: ${String(error)}`.split('\n')[0] ?? '' };
  }
}

describeIf(namespacesAndRadvd(), 'no-network-namespaces', 'renumbering seen by the interface source', () => {
  let lan: RouterLan | undefined;
  afterEach(() => {
    lan?.stop();
    lan = undefined;
  });

  /** A LAN announcing `first` (and a ULA), and a pool holding only its IPv4 range. */
  async function homeOn(name: string, first: Announced): Promise<{ home: HomeCluster; lan: RouterLan }> {
    const started = new RouterLan();
    lan = started;
    started.start([first, announced(ULA)]);
    await started.until(`an address from ${first.prefix}`, hasStable(first.prefix.replace('::/64', '')));
    const home = await homeCluster(name, { addresses: [V4] });
    return { home, lan: started };
  }

  const sync = (home: HomeCluster, router: RouterLan) =>
    syncOnce(
      syncSettings({ reload: 'never' }),
      interfaceSource('eth0', 64, router.ifInet6),
      syncTargetFor(home),
      jsonLogger('error'),
    );

  /** Syncs twice: the first must land on `subnet`, the second must find nothing to do. */
  async function settlesOn(home: HomeCluster, router: RouterLan, subnet: string, first = 'updated') {
    const once = await sync(home, router);
    expect({ status: once.status, after: once.after, error: once.error }).toEqual({
      status: first,
      after: [V4, range(subnet)],
      error: undefined,
    });
    const again = await sync(home, router);
    expect({ status: again.status, prefix: again.prefix }).toEqual({
      status: 'unchanged',
      prefix: `${subnet}::/64`,
    });
  }

  it('first prefix: the pool gets it; a temporary address and a ULA beside it are not taken', async () => {
    const { home, lan: router } = await homeOn('renum-first', announced(OLD));
    await router.until(
      'a temporary address and the ULA',
      (all) =>
        all.some((a) => (a.flags & 0x01) !== 0) && all.some((a) => a.address.toString().startsWith('fd00:')),
    );
    await settlesOn(home, router, OLD);
  });

  it('renumbering with the old prefix deprecated (preferred lifetime 0): one sync moves', async () => {
    const { home, lan: router } = await homeOn('renum-deprecated', announced(OLD));
    await settlesOn(home, router, OLD);
    router.announce([announced(OLD, { preferred: 0 }), announced(HIGH), announced(ULA)]);
    await router.until(
      'the old address deprecated and a new one',
      (all) => hasStable(OLD, true)(all) && hasStable(HIGH)(all),
    );
    await settlesOn(home, router, HIGH);
  });

  it.each([
    ['higher', HIGH],
    ['lower', LOW],
  ])(
    'renumbering where the old prefix is simply no longer announced and the new one is %s: one sync moves, none moves back',
    async (_, next) => {
      const { home, lan: router } = await homeOn(`renum-silent-${next.slice(-4)}`, announced(OLD));
      await settlesOn(home, router, OLD);
      router.announce([announced(next), announced(ULA)]);
      // The old address stays preferred for hours: two stable global prefixes on the node.
      await router.until(
        'a new address beside the old, still preferred one',
        (all) => hasStable(OLD)(all) && hasStable(next)(all),
      );
      // Why the pool's history decides and not the kernel's lifetimes: right after the switch the
      // old address's remaining preferred lifetime is as long as the new one's (both hours), so
      // netlink (which Node cannot read without a native module anyway) would not tell them apart.
      const lifetimes = router.preferredLifetimes();
      const remaining = (subnet: string) =>
        lifetimes.find((l) => l.address.startsWith(`${subnet}:`))?.preferred ?? 0;
      expect(remaining(OLD)).toBeGreaterThan(14_000);
      expect(Math.abs(remaining(next) - remaining(OLD))).toBeLessThan(60);
      await settlesOn(home, router, next);
    },
  );

  it('the old prefix finally expiring changes nothing more', async () => {
    // Short lifetimes, so that the old address is gone a few seconds after the router stops.
    const { home, lan: router } = await homeOn('renum-expiry', announced(OLD, { preferred: 8, valid: 10 }));
    await settlesOn(home, router, OLD);
    router.announce([announced(HIGH), announced(ULA)]);
    await router.until(
      'a new address beside the old one',
      (all) => hasStable(OLD)(all) && hasStable(HIGH)(all),
    );
    await settlesOn(home, router, HIGH);
    await router.until(
      'the old address to expire',
      (all) => !all.some((a) => a.address.toString().startsWith(`${OLD}:`)),
      20_000,
    );
    await settlesOn(home, router, HIGH, 'unchanged');
  });

  it('two new prefixes at once, neither deprecated: refused, naming both; the pool stays', async () => {
    const { home, lan: router } = await homeOn('renum-ambiguous', announced(LOW));
    // The pool has never been on either: nothing says which is current.
    router.announce([announced(LOW), announced(HIGH), announced(ULA)]);
    await router.until('two stable prefixes', (all) => hasStable(LOW)(all) && hasStable(HIGH)(all));
    const before = await home.readPool();
    const result = await sync(home, router);
    expect(result).toMatchObject({ status: 'failed', stage: 'detect' });
    expect(result.error).toContain(
      `several prefixes are in use (${LOW}::/64, ${HIGH}::/64), 2 of them new to this pool`,
    );
    expect((await home.readPool()).spec).toEqual(before.spec);
  });
});
