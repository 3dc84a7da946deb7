// The sync attacked the way a bad network and a crash would, against the real apiserver: a proxy in
// front of it stalls, resets, drops or commits-then-resets each API call of a sync in turn, and the
// CLI is SIGKILLed at points spread over a run. After every attack: the run ended in bounded time
// with the right exit code and one clear message, the pool holds exactly the old or exactly the new
// addresses with everything it does not own byte-equal, and the next (undisturbed) run converges:
// the new addresses, no restart left owed, and MetalLB's pods started after the addresses were
// written.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import {
  ANNOTATION_PREFIX,
  LAST_SYNC_ANNOTATION,
  OWNED_ANNOTATION,
  RELOAD_OWED_ANNOTATION,
  readReloadDebt,
} from '../../lib/plan/pool-record.js';
import { CLAIM_MARGIN_MS } from '../../lib/sync/run.js';
import {
  createPool,
  METALLB_SELECTOR,
  POOL,
  setPodsNeverReady,
  type PoolObject,
} from '../../devcluster/metallb-fixture.js';
import { kubeconfigYaml } from '../../devcluster/kubeconfig.js';
import { adminKubeConfig, sharedCluster } from '../../devcluster/shared-cluster.js';
import { installPoolWebhook, type PoolWebhook } from '../support/admission-webhook.js';
import { runCli, startCli } from '../../devcluster/cli.js';
import { startFaultProxy, type Fault, type FaultProxy, type FaultRule } from '../support/fault-proxy.js';
import {
  homeCluster,
  range,
  SUBNET_NEW,
  SUBNET_OLD,
  type HomeCluster,
} from '../../devcluster/home-cluster.js';

const V4 = '192.168.178.240/28';
const OLD = [V4, range(SUBNET_OLD)];
const NEW = [V4, range(SUBNET_NEW)];
const TEAM = { 'team/owner': 'home-lab' };
const admin = adminKubeConfig();
const core = admin.makeApiClient(CoreV1Api);

// Short enough that a stalled call costs seconds (4 attempts of 2 s and the backoffs between), long
// enough that an undisturbed call on a busy 2-core CI machine is not mistaken for a stalled one.
const FAST = {
  METALLB_DYN6_REQUEST_TIMEOUT: '2',
  METALLB_DYN6_RELOAD_TIMEOUT: '6',
  METALLB_DYN6_DEADLINE: '40',
};

type Call = Omit<FaultRule, 'fault' | 'times'>;
function calls(namespace: string): Record<string, Call> {
  const pool = new RegExp(`^/apis/metallb\\.io/v1beta1/namespaces/${namespace}/ipaddresspools/ipv6-pool`);
  const pods = new RegExp(`^/api/v1/namespaces/${namespace}/pods\\?(?!.*watch=true)`);
  return {
    'the pool GET': { method: 'GET', url: pool },
    'the pod LIST before the write': { method: 'GET', url: pods },
    'the pool PATCH': { method: 'PATCH', url: pool },
    'the pod DELETECOLLECTION': { method: 'DELETE', url: pods },
    "the wait's pod LIST": { method: 'GET', url: pods, skip: 1 },
    'the pod WATCH': {
      method: 'GET',
      url: new RegExp(`^/api/v1/namespaces/${namespace}/pods\\?.*watch=true`),
    },
    'the PATCH clearing the owed mark': { method: 'PATCH', url: pool, skip: 1 },
    'the Event POST': { method: 'POST', url: new RegExp(`^/api/v1/namespaces/${namespace}/events`) },
  };
}

let proxy: FaultProxy;

beforeAll(async () => {
  proxy = await startFaultProxy(sharedCluster().server, sharedCluster().runDir);
});
afterAll(async () => {
  await proxy.close();
});

interface Home {
  home: HomeCluster;
  /** Through the proxy, with FAST limits. */
  env: Record<string, string>;
  /** Through the proxy, with the CLI's default limits: what a run after the attack has. */
  calm: Record<string, string>;
  /** The pool before any run, with what the tool manages (addresses, its annotations) left out. */
  notOurs: unknown;
}

const withoutOurs = (pool: PoolObject) => ({
  spec: { ...pool.spec, addresses: undefined },
  annotations: Object.fromEntries(
    Object.entries(pool.metadata.annotations ?? {}).filter(([k]) => !k.startsWith(`${ANNOTATION_PREFIX}/`)),
  ),
});

/** A home whose CLI talks to the apiserver through the proxy; MetalLB 0.13 must be cycled. */
async function homeBehindProxy(prefix: string): Promise<Home> {
  const home = await homeCluster(prefix, { metallbVersion: 'v0.13.12', annotations: TEAM });
  const kubeconfig = path.join(sharedCluster().runDir, 'kubeconfigs', `${home.namespace}-proxied.yaml`);
  writeFileSync(
    kubeconfig,
    kubeconfigYaml({ ...sharedCluster(), server: proxy.server }, home.username, home.token),
    {
      mode: 0o600,
    },
  );
  return {
    home,
    env: home.env({ KUBECONFIG: kubeconfig, ...FAST }),
    calm: home.env({ KUBECONFIG: kubeconfig }),
    notOurs: withoutOurs(await home.readPool()),
  };
}

/** The pool holds exactly the old or the new addresses, and what is not ours is as it was. */
async function expectOldOrNew({ home, notOurs }: Home): Promise<'old' | 'new'> {
  const pool = await home.readPool();
  expect([OLD, NEW]).toContainEqual(pool.spec.addresses);
  expect(withoutOurs(pool)).toEqual(notOurs);
  return JSON.stringify(pool.spec.addresses) === JSON.stringify(OLD) ? 'old' : 'new';
}

/**
 * A restart claimed by a run that was killed (or could not clear its claim) is left to that run
 * until the claim lapses; the first run after that pays it. Waits until then, as a CronJob's next
 * tick would.
 */
async function claimLapsed(home: HomeCluster): Promise<void> {
  const mark = readReloadDebt((await home.readPool()).metadata.annotations?.[RELOAD_OWED_ANNOTATION]);
  if (!mark.owed || mark.claim === undefined) return;
  const wait = Date.parse(mark.claim.until) - Date.now();
  // Never longer than the claim FAST runs take: --reload-timeout and the margin.
  expect(wait).toBeLessThanOrEqual(Number(FAST.METALLB_DYN6_RELOAD_TIMEOUT) * 1000 + CLAIM_MARGIN_MS);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait + 100));
}

/** An undisturbed run puts the new addresses in, owes MetalLB nothing, and MetalLB restarted after the write. */
async function expectConvergence({ home, calm }: Home): Promise<void> {
  proxy.inject([]);
  await claimLapsed(home);
  const next = await runCli(['sync'], calm, 60_000);
  expect({ code: next.code, stderr: next.code === 0 ? '' : next.stderr }).toEqual({ code: 0, stderr: '' });
  const pool = await home.readPool();
  expect(pool.spec.addresses).toEqual(NEW);
  expect(pool.metadata.annotations).not.toHaveProperty([RELOAD_OWED_ANNOTATION]);
  const written = Math.floor(Date.parse(pool.metadata.annotations?.[LAST_SYNC_ANNOTATION] ?? '') / 1000);
  const pods = (await core.listNamespacedPod({ namespace: home.namespace, labelSelector: METALLB_SELECTOR }))
    .items;
  for (const pod of pods) {
    const started = Math.floor((pod.metadata?.creationTimestamp?.getTime() ?? 0) / 1000);
    expect(started).toBeGreaterThanOrEqual(written);
  }
}

interface Expected {
  code: number;
  status: string;
  stage?: string;
  pool: 'old' | 'new';
  error?: RegExp;
}

const STALLED: Record<string, Expected> = {
  'the pool GET': {
    code: 1,
    status: 'failed',
    stage: 'read',
    pool: 'old',
    error: /within 2 s \(--request-timeout\)/,
  },
  // Looked at before the write: the write stands and owes the restart to the next run, unclaimed.
  'the pod LIST before the write': {
    code: 1,
    status: 'failed',
    stage: 'reload',
    pool: 'new',
    error: /listing MetalLB pods.*stays marked for a restart, which the next run makes/,
  },
  'the pool PATCH': {
    code: 1,
    status: 'failed',
    stage: 'write',
    pool: 'old',
    error: /writing IPAddressPool .*within 2 s/,
  },
  'the pod DELETECOLLECTION': {
    code: 1,
    status: 'rolled-back',
    stage: 'reload',
    pool: 'old',
    error: /deleting MetalLB pods/,
  },
  "the wait's pod LIST": {
    code: 1,
    status: 'failed',
    stage: 'reload',
    pool: 'new',
    error: /could not be observed.*the next run makes/,
  },
  'the pod WATCH': { code: 0, status: 'updated', pool: 'new' },
  'the PATCH clearing the owed mark': { code: 0, status: 'updated', pool: 'new' },
  'the Event POST': { code: 0, status: 'updated', pool: 'new' },
};

describe('API faults during a sync (through a fault-injecting proxy)', () => {
  describe.each(Object.keys(STALLED))('%s', (name) => {
    it('stalled for good: the run ends by itself, says what stalled, and the next run converges', async () => {
      const at = await homeBehindProxy('stall');
      const { home, env } = at;
      const call = calls(home.namespace)[name] as Call;
      proxy.inject([{ ...call, fault: 'stall', times: Infinity }]);
      const run = await runCli(['sync'], env, 60_000);
      expect(proxy.broken.length).toBeGreaterThan(0);
      const want = STALLED[name] as Expected;
      expect({ code: run.code, status: run.result?.status, stage: run.result?.stage }).toEqual({
        code: want.code,
        status: want.status,
        stage: want.stage,
      });
      if (want.error !== undefined) expect(run.result?.error).toMatch(want.error);
      expect(await expectOldOrNew(at)).toBe(want.pool);
      await expectConvergence(at);
    }, 120_000);

    it.each(['reset', 'drop', 'commit-then-reset'] as Fault[])(
      'one %s: retried, and the same run ends with the new addresses MetalLB took',
      async (fault) => {
        const at = await homeBehindProxy(fault);
        const { home, env } = at;
        proxy.inject([{ ...(calls(home.namespace)[name] as Call), fault }]);
        const run = await runCli(['sync'], env, 60_000);
        expect(proxy.broken).toHaveLength(1);
        expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
        expect(['updated', 'unchanged']).toContain(run.result?.status);
        expect(await expectOldOrNew(at)).toBe('new');
        expect((await home.readPool()).metadata.annotations).not.toHaveProperty([RELOAD_OWED_ANNOTATION]);
      },
      120_000,
    );
  });
});

describe('a pod watch that stalls for the whole --reload-timeout', () => {
  it('is not taken for MetalLB failing: one more list finds the replacements Ready, and the write stands', async () => {
    const at = await homeBehindProxy('watch-stall');
    proxy.inject([
      { ...(calls(at.home.namespace)['the pod WATCH'] as Call), fault: 'stall', times: Infinity },
    ]);
    const run = await runCli(['sync', '--reload-timeout', '5'], at.env, 60_000);
    expect(proxy.broken.length).toBeGreaterThan(0);
    expect({ code: run.code, status: run.result?.status, error: run.result?.error }).toEqual({
      code: 0,
      status: 'updated',
      error: undefined,
    });
    expect(await expectOldOrNew(at)).toBe('new');
    expect((await at.home.readPool()).metadata.annotations).not.toHaveProperty([RELOAD_OWED_ANNOTATION]);
  }, 120_000);
});

describe('a hostile pool', () => {
  it('whose ownership record names its IPv4 and ULA entries: the run refuses, naming the annotation, and deletes nothing', async () => {
    const ula = 'fd00:1234::1000-fd00:1234::1999';
    const home = await homeCluster('hostile-record', {
      addresses: [V4, ula, range(SUBNET_OLD)],
      annotations: { [OWNED_ANNOTATION]: JSON.stringify([V4, ula, range(SUBNET_OLD)]) },
    });
    const before = await home.readPool();
    const run = await runCli(['sync'], home.env(), 60_000);
    expect({ code: run.code, status: run.result?.status, stage: run.result?.stage }).toEqual({
      code: 1,
      status: 'failed',
      stage: 'read',
    });
    expect(run.result?.error).toBe(
      `annotation ${OWNED_ANNOTATION} names "${V4}", which metallb-dyn6 cannot have written (it writes only global IPv6 ranges inside one /64); fix or remove the annotation`,
    );
    expect(await home.readPool()).toEqual(before);
  });
});

describe('writes refused by a validating admission webhook', () => {
  /** Installs the webhook and waits until the apiserver calls it (a probe pool's updates). */
  async function frozen(namespace: string): Promise<PoolWebhook> {
    const hook = await installPoolWebhook(admin, sharedCluster().runDir, namespace);
    await createPool(admin, namespace, 'probe', { addresses: ['10.99.0.0/24'] });
    const objects = admin.makeApiClient(CustomObjectsApi);
    for (let i = 0; hook.seen.length === 0 && i < 100; i++) {
      await objects.patchNamespacedCustomObject(
        { ...POOL, namespace, name: 'probe', body: { metadata: { labels: { probe: String(i) } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(hook.seen.length).toBeGreaterThan(0);
    return hook;
  }

  it("a refused write ends the run at write with the webhook's message, changing nothing; a later run converges", async () => {
    const at = await homeBehindProxy('webhook');
    const hook = await frozen(at.home.namespace);
    try {
      proxy.inject([]);
      hook.refuseAfter(0);
      const run = await runCli(['sync'], at.env, 60_000);
      expect({ code: run.code, status: run.result?.status, stage: run.result?.stage }).toEqual({
        code: 1,
        status: 'failed',
        stage: 'write',
      });
      expect(run.result?.error).toMatch(/denied the request: IPAddressPool edits are frozen by policy/);
      // The webhook is named, and the reader is not sent to the Role: RBAC allowed the write.
      expect(run.result?.error).toContain(
        '; refused by admission webhook freeze.metallb-dyn6.test, not by RBAC',
      );
      expect(run.result?.error).not.toContain('check the Role');
      expect(await expectOldOrNew(at)).toBe('old');
      hook.refuseAfter(Infinity);
      await expectConvergence(at);
    } finally {
      await hook.remove();
    }
  }, 120_000);

  it('a refused rollback is reported as a failed rollback; the next run converges once MetalLB is back', async () => {
    const at = await homeBehindProxy('webhook-rollback');
    const hook = await frozen(at.home.namespace);
    try {
      proxy.inject([]);
      await setPodsNeverReady(admin, at.home.namespace, true);
      // The write passes; the restore after MetalLB failed to come back is refused.
      hook.refuseAfter(1);
      const run = await runCli(['sync', '--reload-timeout', '2'], at.env, 60_000);
      expect({ code: run.code, status: run.result?.status, stage: run.result?.stage }).toEqual({
        code: 1,
        status: 'failed',
        stage: 'rollback',
      });
      expect(run.result?.error).toMatch(
        /rolling the pool back failed too: .*IPAddressPool edits are frozen by policy; refused by admission webhook freeze\.metallb-dyn6\.test, not by RBAC/,
      );
      expect(run.result?.error).not.toContain('check the Role');
      expect(await expectOldOrNew(at)).toBe('new');
      await setPodsNeverReady(admin, at.home.namespace, false);
      hook.refuseAfter(Infinity);
      await expectConvergence(at);
    } finally {
      await hook.remove();
    }
  }, 120_000);
});

describe('SIGTERM in run mode', () => {
  it('ends the process at once, even while a request hangs, and the next run converges', async () => {
    const at = await homeBehindProxy('sigterm');
    proxy.inject([
      { ...(calls(at.home.namespace)['the pool PATCH'] as Call), fault: 'stall', times: Infinity },
    ]);
    // A minute per request: only the signal can end this run early.
    const started = startCli(['run', '--request-timeout', '60'], at.env, 60_000);
    for (let waited = 0; proxy.broken.length === 0 && waited < 20_000; waited += 50) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(proxy.broken).toHaveLength(1);
    const signalled = Date.now();
    started.child.kill('SIGTERM');
    const run = await started.done;
    // Far below the 60 s the hanging request would take: the signal ended it, however busy the machine.
    expect(Date.now() - signalled).toBeLessThan(15_000);
    expect(run.code).toBe(0);
    expect(run.result).toMatchObject({ status: 'failed', stage: 'write' });
    expect(run.result?.error).toMatch(/stopped by SIGTERM/);
    expect(await expectOldOrNew(at)).toBe('old');
    await expectConvergence(at);
  }, 120_000);
});

describe('SIGKILL at points spread over a run', () => {
  const landed: ('old' | 'new')[] = [];
  // From before the first request to after the last: each kill lands somewhere else in the run.
  it.each([40, 90, 140, 190, 240, 300, 380, 480, 600, 800])(
    'killed after %d ms: the pool is old or new, and the next run converges with MetalLB restarted',
    async (ms) => {
      const at = await homeBehindProxy('kill');
      proxy.inject([]);
      const started = startCli(['sync'], at.env, 60_000);
      await new Promise((r) => setTimeout(r, ms));
      started.child.kill('SIGKILL');
      await started.done;
      landed.push(await expectOldOrNew(at));
      await expectConvergence(at);
    },
    120_000,
  );

  it('the kills landed both before and after the write', () => {
    expect(new Set(landed)).toEqual(new Set(['old', 'new']));
  });
});
