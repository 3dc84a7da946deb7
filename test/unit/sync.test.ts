// Every exit of a sync, on the in-memory cluster: what the result document says (status, stage,
// message), what the pool holds afterwards, which requests were made and which Events recorded.
import { describe, expect, it } from '@jest/globals';
import { ClusterError } from '../../lib/cluster/api-error.js';
import { EventRateLimit } from '../../lib/cluster/event-sink.js';
import { ConflictError } from '../../lib/cluster/pool-resource.js';
import { OWNED_ANNOTATION } from '../../lib/plan/pool-record.js';
import { parseAnswer } from '../../lib/source/answer.js';
import { SourceError, type PrefixSource } from '../../lib/source/source.js';
import { firstSource } from '../../lib/source/combinators.js';
import { staticSource } from '../../lib/source/static.js';
import { inMemoryCluster } from '../support/in-memory-cluster.js';
import { answering, run } from '../support/in-memory-sync.js';
import { range, SUBNET_NEW, SUBNET_OLD } from '../support/sync-settings.js';
import type { AddressPool } from '../../lib/cluster/ports.js';

const V4 = '192.168.178.240/28';
const OLD = range(SUBNET_OLD);
const NEW = range(SUBNET_NEW);
const OWED = 'metallb-dyn6/reload-owed';
const ours = (...entries: string[]) => ({ [OWNED_ANNOTATION]: JSON.stringify(entries) });
const forbidden = (action: string) =>
  new ClusterError(`${action} IPAddressPool metallb-system/ipv6-pool: forbidden (403)`, 403);

/** A pool as the previous run left it: ours recorded, an IPv4 range and a team annotation beside. */
/** A restart on a pool already right: claimed on the pool, paid, the claim cleared. */
const CLAIMED_RESTART = [
  'get ipaddresspools 200',
  'patch ipaddresspools 200',
  'list pods 200',
  'deletecollection pods 200',
  'patch ipaddresspools 200',
];
const synced = (metallbVersion = 'v0.13.12') =>
  inMemoryCluster([V4, OLD], { annotations: { 'team/owner': 'home-lab', ...ours(OLD) }, metallbVersion });

describe('detect', () => {
  it('a source that fails ends the run before the pool is read; a Warning Event on the pool says why', async () => {
    const cluster = synced();
    const source: PrefixSource = {
      name: 'my-ip',
      detect: () => Promise.reject(new SourceError('my-ip', 'HTTP 502 from https://api6.my-ip.io/ip.json')),
    };
    const { result } = await run(cluster, { source });
    expect(result).toMatchObject({
      status: 'failed',
      stage: 'detect',
      source: 'my-ip',
      error: 'source my-ip: HTTP 502 from https://api6.my-ip.io/ip.json',
      apiRequests: 1,
    });
    expect(cluster.trail).toEqual(['create events 201']);
    expect(cluster.events.events).toEqual([
      {
        type: 'Warning',
        reason: 'PrefixNotDetected',
        message: 'source my-ip: HTTP 502 from https://api6.my-ip.io/ip.json',
      },
    ]);
    // About the configured pool, though it was not read.
    expect(cluster.events.subjects).toEqual([{ namespace: 'metallb-system', name: 'ipv6-pool' }]);
  });

  it('a source that does not answer in time is stopped, and the message names the setting to raise', async () => {
    const cluster = synced();
    let aborted = false;
    const source: PrefixSource = {
      name: 'slow',
      detect: ({ signal }) =>
        new Promise((_, reject) =>
          signal?.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('aborted'));
          }),
        ),
    };
    const { result } = await run(cluster, { source, settings: { detectDeadlineMs: 20 } });
    expect(result).toMatchObject({
      status: 'failed',
      stage: 'detect',
      error:
        'source slow: no usable answer within the 0.02 s detection deadline; raise --detect-deadline / METALLB_DYN6_DETECT_DEADLINE if the sources need longer',
    });
    expect(aborted).toBe(true);
    expect(cluster.trail).toEqual(['create events 201']);
  });

  it('a pushed prefix is used without asking the source', async () => {
    const cluster = synced();
    const source: PrefixSource = { name: 'never', detect: () => Promise.reject(new Error('asked')) };
    const answer = parseAnswer('push', `${SUBNET_NEW}::/64`);
    const { result } = await run(cluster, { source, request: { answer, trigger: 'http-push' } });
    expect(result).toMatchObject({
      status: 'updated',
      source: 'push',
      trigger: 'http-push',
      after: [V4, NEW],
    });
  });
});

describe('answers that cannot be a delegation', () => {
  it.each(['2000::/3', '2a02::/16', '2a02:8070::/29'])(
    'a pushed %s is refused at detect, and the pool is not even read',
    async (pushed) => {
      const cluster = synced();
      const before = cluster.pool.stored;
      const answer = parseAnswer('push', pushed);
      const { result } = await run(cluster, { request: { answer, trigger: 'http-push' } });
      expect(result).toMatchObject({ status: 'failed', stage: 'detect', source: 'push', answer: pushed });
      expect(result.error).toMatch(/shorter than a prefix delegated to you can be \(\/48 at most\)/);
      expect(cluster.pool.stored).toEqual(before);
      expect(cluster.trail).toEqual(['create events 201']);
    },
  );

  it('a source answering a /29 is refused the same way', async () => {
    const cluster = synced();
    const { result } = await run(cluster, { source: staticSource(parseAnswer('static', '2a02:8070::/29')) });
    expect(result).toMatchObject({ status: 'failed', stage: 'detect', answer: '2a02:8070::/29' });
  });
});

describe('read', () => {
  it('a pool that cannot be read fails the run with the API message', async () => {
    const cluster = synced();
    cluster.pool.failReads.push(forbidden('reading'));
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'failed',
      stage: 'read',
      prefix: `${SUBNET_NEW}::/64`,
      error: 'reading IPAddressPool metallb-system/ipv6-pool: forbidden (403)',
    });
    expect(result).not.toHaveProperty('before');
    expect(cluster.trail).toEqual(['get ipaddresspools 403', 'create events 201']);
  });

  it('an unreadable ownership record fails the run and nothing is written', async () => {
    const cluster = inMemoryCluster([V4, OLD], { annotations: { [OWNED_ANNOTATION]: 'not json' } });
    const before = cluster.pool.stored;
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'failed',
      stage: 'read',
      before: [V4, OLD],
      error: expect.stringMatching(
        /^annotation metallb-dyn6\/owned-addresses must be a JSON list .*"not json"; fix or remove it$/,
      ),
    });
    expect(cluster.pool.stored).toEqual(before);
    expect(cluster.trail).toEqual(['get ipaddresspools 200', 'create events 201']);
  });
});

describe('a record someone copied or edited', () => {
  it('naming the IPv4 entry fails the run, names the annotation, and deletes nothing', async () => {
    const cluster = inMemoryCluster([V4, OLD], { annotations: ours(V4, OLD) });
    const before = cluster.pool.stored;
    const { result } = await run(cluster);
    expect(result).toMatchObject({ status: 'failed', stage: 'read', before: [V4, OLD] });
    expect(result.error).toMatch(/^annotation metallb-dyn6\/owned-addresses names "192\.168\.178\.240\/28"/);
    expect(cluster.pool.stored).toEqual(before);
    expect(cluster.trail).toEqual(['get ipaddresspools 200', 'create events 201']);
  });
});

describe('plan', () => {
  it('a desired range overlapping an entry someone else owns is refused, writing nothing', async () => {
    const cluster = inMemoryCluster([V4, OLD, `${SUBNET_NEW}::/64`], { annotations: ours(OLD) });
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'failed',
      stage: 'plan',
      before: [V4, OLD, `${SUBNET_NEW}::/64`],
      error: expect.stringContaining(
        `overlaps pool entry "${SUBNET_NEW}::/64", which metallb-dyn6 does not own`,
      ),
    });
    expect(cluster.trail).toEqual(['get ipaddresspools 200', 'create events 201']);
  });
});

describe('nothing to write', () => {
  it('a pool already right costs one GET and reloads nothing', async () => {
    const cluster = synced();
    const { result } = await run(cluster, { source: answering(SUBNET_OLD) });
    expect(result).toMatchObject({
      status: 'unchanged',
      after: [V4, OLD],
      added: [],
      removed: [],
      reload: { strategy: 'auto', action: 'none', reason: 'pool already up to date' },
      apiRequests: 1,
    });
    expect(result).not.toHaveProperty('stage');
  });

  it('forced: MetalLB is restarted on the unchanged pool', async () => {
    const cluster = synced('v0.14.9');
    const { result } = await run(cluster, { source: answering(SUBNET_OLD), request: { force: true } });
    expect(result).toMatchObject({
      status: 'unchanged',
      reload: { action: 'cycled', reason: 'reload forced', deletedPods: ['controller-0', 'speaker-0'] },
    });
    // The restart is claimed on the pool first, so that a burst of forced runs restarts MetalLB once.
    expect(cluster.trail).toEqual(CLAIMED_RESTART);
    expect(cluster.pool.stored.metadata.annotations).not.toHaveProperty([OWED]);
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, OLD]);
    expect(cluster.events.events).toEqual([]);
  });

  it('forced, and MetalLB does not come back: failed at reload, with nothing to roll back', async () => {
    const cluster = synced();
    cluster.metallb.cycles.push({ fails: '0 of 2 replacement pods Ready' });
    const { result } = await run(cluster, { source: answering(SUBNET_OLD), request: { force: true } });
    expect(result).toMatchObject({
      status: 'failed',
      stage: 'reload',
      reload: { action: 'failed' },
      error: 'MetalLB did not come back within 10 s: 0 of 2 replacement pods Ready',
    });
    // The claim, then its release as a debt open to the next run; the addresses never change.
    expect(cluster.trail.filter((t) => t.startsWith('patch'))).toHaveLength(2);
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, OLD]);
    expect(cluster.pool.stored.metadata.annotations?.[OWED]).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('forced dry run: says what it would do and does nothing', async () => {
    const cluster = synced();
    const { result } = await run(cluster, {
      source: answering(SUBNET_OLD),
      request: { force: true, dryRun: true },
    });
    expect(result).toMatchObject({ status: 'dry-run', after: [V4, OLD] });
    expect(result).not.toHaveProperty('reload');
    expect(cluster.trail).toEqual(['get ipaddresspools 200']);
  });

  it('dry run of a change: the diff, and no write', async () => {
    const cluster = synced();
    const before = cluster.pool.stored;
    const { result } = await run(cluster, { settings: { dryRun: true } });
    expect(result).toMatchObject({
      status: 'dry-run',
      before: [V4, OLD],
      after: [V4, NEW],
      added: [NEW],
      removed: [OLD],
    });
    expect(cluster.pool.stored).toEqual(before);
    expect(cluster.trail).toEqual(['get ipaddresspools 200']);
  });
});

describe('write', () => {
  it('a refused write fails at write, reporting the diff it tried', async () => {
    const cluster = synced();
    cluster.pool.failWrites.push(forbidden('writing'));
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'failed',
      stage: 'write',
      before: [V4, OLD],
      after: [V4, NEW],
      error: 'writing IPAddressPool metallb-system/ipv6-pool: forbidden (403)',
    });
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, OLD]);
  });

  it('a conflict re-reads and re-plans, keeping the concurrent edit', async () => {
    const cluster = synced();
    let raced = false;
    cluster.pool.beforeWrite = (pool) => {
      if (raced) return;
      raced = true;
      pool.edit((p) => p.spec.addresses.push('10.10.0.0/24'));
    };
    const { result, logs } = await run(cluster);
    expect(result).toMatchObject({ status: 'updated', after: [V4, NEW, '10.10.0.0/24'] });
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, NEW, '10.10.0.0/24']);
    // MetalLB's pods are looked at once, before the first write, not again after the conflict.
    expect(cluster.trail.slice(0, 5)).toEqual([
      'get ipaddresspools 200',
      'list pods 200',
      'patch ipaddresspools 409',
      'get ipaddresspools 200',
      'patch ipaddresspools 200',
    ]);
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 'warn', msg: 'pool changed while we wrote it; re-reading' }),
    );
  });

  it('gives up after four conflicts in a row, naming how many', async () => {
    const cluster = synced();
    cluster.pool.beforeWrite = (pool) => {
      pool.edit(() => undefined);
    };
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'failed',
      stage: 'write',
      after: [V4, NEW],
      error:
        'IPAddressPool metallb-system/ipv6-pool was changed by someone else while we wrote it 4 times; giving up',
    });
    expect(cluster.trail.filter((t) => t === 'patch ipaddresspools 409')).toHaveLength(4);
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, OLD]);
  });

  it('a failed re-read after a conflict is a read failure', async () => {
    const cluster = synced();
    cluster.pool.failWrites.push(new ConflictError(cluster.pool.label));
    cluster.pool.beforeWrite = () => {
      cluster.pool.failReads.push(forbidden('reading'));
    };
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'failed',
      stage: 'read',
      error: expect.stringContaining('forbidden (403)'),
    });
    expect(result).not.toHaveProperty('after');
  });

  it('writes only the ownership record when the addresses are right but unrecorded (first run)', async () => {
    const cluster = inMemoryCluster([V4, OLD], { annotations: { 'team/owner': 'home-lab' } });
    const { result } = await run(cluster, { source: answering(SUBNET_OLD) });
    expect(result).toMatchObject({
      status: 'updated',
      after: [V4, OLD],
      reload: { action: 'none', reason: 'addresses unchanged; only the ownership record was written' },
    });
    expect(cluster.pool.stored.metadata.annotations).toMatchObject({
      'team/owner': 'home-lab',
      ...ours(OLD),
      'metallb-dyn6/last-prefix': `${SUBNET_OLD}::/64`,
    });
    expect(cluster.trail).toEqual(['get ipaddresspools 200', 'patch ipaddresspools 200']);
    expect(cluster.events.events).toEqual([]);
  });
});

describe('updated', () => {
  it('a forced run that writes only the record restarts MetalLB and says nothing was added or removed', async () => {
    const cluster = inMemoryCluster([V4, OLD], { metallbVersion: 'v0.14.9' });
    const { result } = await run(cluster, { source: answering(SUBNET_OLD), request: { force: true } });
    expect(result).toMatchObject({
      status: 'updated',
      reload: { action: 'cycled', reason: 'reload forced' },
    });
    expect(cluster.events.events[0]?.message).toMatch(
      /: added nothing; removed nothing; MetalLB reload cycled/,
    );
  });

  it('MetalLB < 0.14.2 is cycled, the record moves with the addresses, and an Event says what changed', async () => {
    const cluster = synced();
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'updated',
      before: [V4, OLD],
      after: [V4, NEW],
      reload: { action: 'cycled', metallbImage: 'quay.io/metallb/controller:v0.13.12' },
      apiRequests: 6,
    });
    // The restart was owed from the write on, and paid: the mark is gone again.
    expect(cluster.trail).toEqual([
      'get ipaddresspools 200',
      'list pods 200',
      'patch ipaddresspools 200',
      'deletecollection pods 200',
      'patch ipaddresspools 200',
      'create events 201',
    ]);
    expect(cluster.pool.stored.metadata.annotations).not.toHaveProperty([OWED]);
    expect(cluster.pool.stored.metadata.annotations).toMatchObject({
      'team/owner': 'home-lab',
      ...ours(NEW),
    });
    expect(cluster.pool.stored.spec['autoAssign']).toBe(true);
    expect(cluster.events.events).toEqual([
      {
        type: 'Normal',
        reason: 'AddressesUpdated',
        message: `prefix ${SUBNET_NEW}::/64 (from static): added ${NEW}; removed ${OLD}; MetalLB reload cycled (MetalLB v0.13.12 < v0.14.2 needs its pods restarted)`,
      },
    ]);
  });

  it.each([
    ['auto', 'v0.14.9', 'MetalLB v0.14.9 reloads pools by itself'],
    ['never', 'v0.13.12', 'reload strategy is never'],
  ] as const)('reload %s on MetalLB %s: pods left alone (%s)', async (reload, version, reason) => {
    const cluster = synced(version);
    const { result } = await run(cluster, { settings: { reload } });
    expect(result).toMatchObject({ status: 'updated', reload: { action: 'skipped', reason } });
    expect(cluster.trail).not.toContain('deletecollection pods 200');
  });

  it('an Event that cannot be recorded is logged and the sync still succeeds', async () => {
    const cluster = synced('v0.14.9');
    cluster.events.refusal = 'recording an Event: forbidden (403)';
    const { result, logs } = await run(cluster);
    expect(result.status).toBe('updated');
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'could not record an Event',
        error: 'recording an Event: forbidden (403)',
      }),
    );
  });
});

describe('MetalLB does not take the new pool', () => {
  it('the pool is restored byte for byte, MetalLB restarted on it, and the run reports rolled-back', async () => {
    const cluster = synced();
    const before = cluster.pool.stored;
    cluster.metallb.cycles.push({ fails: '0 of 2 replacement pods Ready' });
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'rolled-back',
      stage: 'reload',
      before: [V4, OLD],
      after: [V4, OLD],
      reload: { action: 'failed' },
      error:
        'MetalLB did not come back within 10 s: 0 of 2 replacement pods Ready; pool restored to its previous addresses and MetalLB restarted',
    });
    expect(cluster.pool.stored.spec).toEqual(before.spec);
    // Byte for byte, and the restart paid on it recorded (runs forced meanwhile find it).
    expect(cluster.pool.stored.metadata.annotations).toEqual({
      ...before.metadata.annotations,
      'metallb-dyn6/last-restart': expect.stringMatching(/^\{"run":"[0-9a-f-]{36}","at":"/),
    });
    // Written (restart owed), cycled, restored (restart owed), cycled again, the owed mark cleared.
    expect(cluster.trail.filter((t) => t.startsWith('patch') || t.startsWith('delete'))).toEqual([
      'patch ipaddresspools 200',
      'deletecollection pods 200',
      'patch ipaddresspools 200',
      'deletecollection pods 200',
      'patch ipaddresspools 200',
    ]);
    expect(cluster.events.events).toEqual([
      {
        type: 'Warning',
        reason: 'RolledBack',
        message: `MetalLB did not come back within 10 s: 0 of 2 replacement pods Ready; restored ${V4}, ${OLD}`,
      },
    ]);
  });

  it('MetalLB pods that cannot be listed: the write stands, owing a restart to the next run, and the run fails at reload', async () => {
    const cluster = synced();
    cluster.metallb.failLists.push(
      new ClusterError('listing MetalLB pods in metallb-system: forbidden (403)', 403),
    );
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'failed',
      stage: 'reload',
      reload: { action: 'failed' },
      error:
        "listing MetalLB pods in metallb-system: forbidden (403); MetalLB's pods were not looked at, so the pool keeps the new addresses and stays marked for a restart, which the next run makes",
    });
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, NEW]);
    // Open to any run (not claimed): the next one pays it at once.
    expect(cluster.pool.stored.metadata.annotations?.[OWED]).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(cluster.trail.filter((t) => t.startsWith('deletecollection'))).toEqual([]);
    cluster.trail.length = 0;
    expect((await run(cluster)).result).toMatchObject({ status: 'unchanged', reload: { action: 'cycled' } });
    expect(cluster.pool.stored.metadata.annotations).not.toHaveProperty([OWED]);
  });

  it('says so when restarting MetalLB on the restored pool fails too', async () => {
    const cluster = synced();
    cluster.metallb.cycles.push({ fails: 'first' }, { fails: 'second' });
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'rolled-back',
      error:
        'MetalLB did not come back within 10 s: first; pool restored to its previous addresses; restarting MetalLB again failed: MetalLB did not come back within 10 s: second',
    });
    // MetalLB has still to take the restored pool: the next run restarts it.
    expect(cluster.pool.stored.metadata.annotations).toHaveProperty([OWED]);
  });

  it('an edit made meanwhile survives the rollback: only our entries are swapped back', async () => {
    const cluster = synced();
    cluster.metallb.cycles.push({ fails: 'down' });
    let edited = false;
    cluster.pool.beforeWrite = (pool) => {
      // The rollback's write: someone added a range while MetalLB was being waited for.
      if (edited || pool.stored.spec.addresses[1] !== NEW) return;
      edited = true;
      pool.edit((p) => p.spec.addresses.push('10.10.0.0/24'));
    };
    const { result } = await run(cluster);
    expect(result.status).toBe('rolled-back');
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, OLD, '10.10.0.0/24']);
    expect(cluster.pool.stored.metadata.annotations).toMatchObject(ours(OLD));
  });

  it('a rollback the API refuses: failed at rollback, and a Warning Event says the pool is left on the new addresses', async () => {
    const cluster = synced();
    cluster.metallb.cycles.push({ fails: 'down' });
    cluster.pool.beforeWrite = (pool) => {
      if (pool.stored.spec.addresses[1] === NEW) pool.failWrites.push(forbidden('writing'));
    };
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'failed',
      stage: 'rollback',
      after: [V4, NEW],
      error:
        'MetalLB did not come back within 10 s: down; rolling the pool back failed too: writing IPAddressPool metallb-system/ipv6-pool: forbidden (403)',
    });
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, NEW]);
    expect(cluster.events.events).toEqual([
      {
        type: 'Warning',
        reason: 'RollbackFailed',
        message: `MetalLB did not come back within 10 s: down; restoring ${V4}, ${OLD} failed: writing IPAddressPool metallb-system/ipv6-pool: forbidden (403)`,
      },
    ]);
  });

  it('a rollback that keeps meeting conflicts gives up after four', async () => {
    const cluster = synced();
    cluster.metallb.cycles.push({ fails: 'down' });
    cluster.pool.beforeWrite = (pool) => {
      if (pool.stored.spec.addresses.includes(NEW)) pool.edit(() => undefined);
    };
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'failed',
      stage: 'rollback',
      error:
        'MetalLB did not come back within 10 s: down; rolling the pool back failed too: IPAddressPool metallb-system/ipv6-pool was changed by someone else while we wrote it 4 times; giving up',
    });
    expect(cluster.trail.filter((t) => t === 'patch ipaddresspools 409')).toHaveLength(4);
  });

  it('a rollback that would overlap an entry added meanwhile is refused rather than forced', async () => {
    const cluster = synced();
    cluster.metallb.cycles.push({ fails: 'down' });
    cluster.pool.beforeWrite = (pool) => {
      if (pool.stored.spec.addresses.length === 2 && pool.stored.spec.addresses[1] === NEW)
        pool.edit((p) => p.spec.addresses.push(`${SUBNET_OLD}::/64`));
    };
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'failed',
      stage: 'rollback',
      error: expect.stringContaining(
        `rolling the pool back failed too: desired range ${OLD} overlaps pool entry "${SUBNET_OLD}::/64"`,
      ),
    });
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, NEW, `${SUBNET_OLD}::/64`]);
  });
});

describe('what a run reports and logs', () => {
  it('names the pool, leaves out an absent trigger, and times the run', async () => {
    const cluster = synced('v0.14.9');
    const { result } = await run(cluster);
    expect(result.pool).toBe('metallb-system/ipv6-pool');
    expect(result).not.toHaveProperty('trigger');
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    expect(result.durationMs).toBeLessThan(10_000);
  });

  it('logs each step of a change, and the run as a whole, with its fields', async () => {
    const cluster = synced('v0.14.9');
    let raced = false;
    cluster.pool.beforeWrite = (pool) => {
      if (!raced) pool.edit(() => undefined);
      raced = true;
    };
    const { result, logs } = await run(cluster);
    expect(logs.map((l) => `${l.level} ${l.msg}`)).toEqual([
      'debug prefix detected',
      'warn pool changed while we wrote it; re-reading',
      'info pool written',
      'info sync updated',
    ]);
    expect(logs[0]).toMatchObject({ prefix: `${SUBNET_NEW}::/64`, desired: [NEW] });
    expect(logs[1]).toMatchObject({ pool: 'metallb-system/ipv6-pool', conflicts: 1 });
    expect(logs[2]).toMatchObject({ pool: 'metallb-system/ipv6-pool', before: [V4, OLD], after: [V4, NEW] });
    expect(logs[3]).toMatchObject({ status: 'updated', after: [V4, NEW], apiRequests: result.apiRequests });
  });

  it('logs a failure at error level with its stage, and a rollback with its cause', async () => {
    const cluster = synced();
    cluster.metallb.cycles.push({ fails: 'down' });
    const { logs } = await run(cluster);
    expect(logs.filter((l) => l.level === 'error')).toEqual([
      expect.objectContaining({
        msg: 'MetalLB did not take the new addresses; rolling the pool back',
        pool: 'metallb-system/ipv6-pool',
        error: 'MetalLB did not come back within 10 s: down',
      }),
      expect.objectContaining({ msg: 'sync failed', status: 'rolled-back', stage: 'reload' }),
    ]);
    expect(logs.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('reports what each source said when several were asked', async () => {
    const cluster = synced();
    const failing: PrefixSource = { name: 'a', detect: () => Promise.reject(new SourceError('a', 'down')) };
    const { result } = await run(cluster, { source: firstSource([failing, answering(SUBNET_NEW)]) });
    expect(result.sources).toEqual([
      { source: 'a', error: 'down' },
      { source: 'static', answer: `${SUBNET_NEW}::9` },
    ]);
    const single = await run(synced());
    expect(single.result).not.toHaveProperty('sources');
  });

  it('a dry run with nothing to change is plainly unchanged', async () => {
    const { result } = await run(synced(), { source: answering(SUBNET_OLD), settings: { dryRun: true } });
    expect(result.status).toBe('unchanged');
  });

  it('an Event names what was added when nothing of ours was removed', async () => {
    const cluster = inMemoryCluster([V4], { metallbVersion: 'v0.14.9' });
    await run(cluster);
    expect(cluster.events.events[0]?.message).toMatch(
      new RegExp(`^prefix \\S+ \\(from static\\): added ${NEW}; removed nothing; `),
    );
  });

  it('a detection that finished leaves nothing behind to abort its sources later', async () => {
    let signal: AbortSignal | undefined;
    const source: PrefixSource = {
      name: 'quick',
      detect: (context) => {
        signal = context.signal;
        return Promise.resolve(parseAnswer('quick', `${SUBNET_OLD}::9`));
      },
    };
    await run(synced(), { source, settings: { detectDeadlineMs: 20 } });
    await new Promise((r) => setTimeout(r, 60));
    expect(signal?.aborted).toBe(false);
  });
});

describe('reload decisions', () => {
  it('reload never asks nothing of MetalLB, not even its pods', async () => {
    const cluster = synced();
    await run(cluster, { settings: { reload: 'never' } });
    expect(cluster.trail).not.toContain('list pods 200');
  });

  it('a forced reload that fails on a MetalLB that reloads by itself still restarts it on the restored pool', async () => {
    const cluster = synced('v0.14.9');
    cluster.metallb.cycles.push({ fails: 'down' });
    const { result } = await run(cluster, { request: { force: true } });
    expect(result.error).toMatch(/pool restored to its previous addresses and MetalLB restarted$/);
    expect(cluster.trail.filter((t) => t.startsWith('delete'))).toHaveLength(2);
  });

  it('no MetalLB pods at all: version unknown, nothing to restart, the write is rolled back', async () => {
    const cluster = synced();
    cluster.metallb.removeAll();
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'rolled-back',
      reload: { action: 'failed', reason: 'MetalLB version unknown: no MetalLB controller pod found' },
    });
    expect(result.reload).not.toHaveProperty('metallbImage');
  });
});

describe('rollback keeps what is not ours', () => {
  it('an untouched pool is restored exactly, even where our entries were not next to each other', async () => {
    const OLD_B = `${SUBNET_OLD}::2000-${SUBNET_OLD}::2999`;
    const cluster = inMemoryCluster([OLD, V4, OLD_B], { annotations: ours(OLD, OLD_B) });
    cluster.metallb.cycles.push({ fails: 'down' });
    const { result } = await run(cluster);
    expect(result.status).toBe('rolled-back');
    expect(cluster.pool.stored.spec.addresses).toEqual([OLD, V4, OLD_B]);
  });

  it('a look-alike range someone else added meanwhile is not taken for ours', async () => {
    const cluster = synced();
    cluster.metallb.cycles.push({ fails: 'down' });
    const theirs = range('2a02:8071:9999:1');
    let added = false;
    cluster.pool.beforeWrite = (pool) => {
      if (added || pool.stored.spec.addresses[1] !== NEW) return;
      added = true;
      pool.edit((p) => p.spec.addresses.push(theirs));
    };
    await run(cluster);
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, OLD, theirs]);
  });

  it.each([
    ['changed', (p: AddressPool) => p.spec.addresses.splice(1, 1, '10.0.0.0/24'), [OLD, '10.0.0.0/24']],
    ['removed', (p: AddressPool) => p.spec.addresses.splice(1, 1), [OLD]],
  ])('an entry someone %s meanwhile stays as they left it', async (_, edit, expected) => {
    const cluster = inMemoryCluster([OLD, V4], { annotations: ours(OLD) });
    cluster.metallb.cycles.push({ fails: 'down' });
    let edited = false;
    cluster.pool.beforeWrite = (pool) => {
      if (edited || pool.stored.spec.addresses[0] !== NEW) return;
      edited = true;
      pool.edit(edit);
    };
    await run(cluster);
    expect(cluster.pool.stored.spec.addresses).toEqual(expected);
  });
});

describe('a restart owed to MetalLB survives the run that owed it', () => {
  // What a run that died between its write and MetalLB's restart (or lost the PATCH's answer) left.
  const leftOwing = (metallbVersion: string) =>
    inMemoryCluster([V4, NEW], {
      annotations: { ...ours(NEW), [OWED]: '2026-11-28T04:00:00.000Z' },
      metallbVersion,
    });

  it('the next run finds the pool right, pays the restart, and clears the mark', async () => {
    const cluster = leftOwing('v0.13.12');
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'unchanged',
      reload: {
        action: 'cycled',
        reason: 'owed by an earlier run: MetalLB v0.13.12 < v0.14.2 needs its pods restarted',
      },
    });
    // Claimed (the mark an earlier release wrote is open to any run), paid, cleared.
    expect(cluster.trail).toEqual(CLAIMED_RESTART);
    expect(cluster.pool.stored.metadata.annotations).not.toHaveProperty([OWED]);
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, NEW]);
    // Paid once: the run after that is a plain no-op.
    cluster.trail.length = 0;
    expect((await run(cluster)).result).toMatchObject({ status: 'unchanged', reload: { action: 'none' } });
    expect(cluster.trail).toEqual(['get ipaddresspools 200']);
  });

  it('on a MetalLB that reloads by itself the debt is void: cleared without a restart', async () => {
    const cluster = leftOwing('v0.14.9');
    const { result } = await run(cluster);
    expect(result).toMatchObject({ status: 'unchanged', reload: { action: 'skipped' } });
    expect(cluster.trail).not.toContain('deletecollection pods 200');
    expect(cluster.pool.stored.metadata.annotations).not.toHaveProperty([OWED]);
  });

  it('MetalLB >= 0.14.2 owes nothing: the write carries no mark', async () => {
    const cluster = synced('v0.14.9');
    cluster.pool.beforeWrite = (pool) => {
      expect(pool.stored.metadata.annotations).not.toHaveProperty([OWED]);
    };
    expect((await run(cluster)).result).toMatchObject({ status: 'updated', reload: { action: 'skipped' } });
    expect(cluster.trail).toEqual([
      'get ipaddresspools 200',
      'list pods 200',
      'patch ipaddresspools 200',
      'create events 201',
    ]);
    expect(cluster.pool.stored.metadata.annotations).not.toHaveProperty([OWED]);
  });

  it('MetalLB took the pool but the mark cannot be cleared: updated, a warning, and the next run pays again', async () => {
    const cluster = synced();
    let writes = 0;
    cluster.pool.beforeWrite = () => {
      if (++writes === 2) cluster.pool.failWrites.push(forbidden('writing'));
    };
    const { result, logs } = await run(cluster);
    expect(result).toMatchObject({ status: 'updated', reload: { action: 'cycled' } });
    expect(cluster.pool.stored.metadata.annotations).toHaveProperty([OWED]);
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'MetalLB took the pool, but the owed-reload mark could not be cleared; a run after it lapses restarts MetalLB again',
      }),
    );
    cluster.pool.beforeWrite = undefined;
    // While the claim holds, another run leaves the restart to its holder...
    expect((await run(cluster)).result).toMatchObject({ status: 'joined', reload: { action: 'none' } });
    expect(cluster.trail.filter((t) => t.startsWith('deletecollection'))).toHaveLength(1);
    // ...and once it lapses, the first run to find it pays it again.
    cluster.pool.lapseClaims();
    expect((await run(cluster)).result).toMatchObject({ status: 'unchanged', reload: { action: 'cycled' } });
    expect(cluster.pool.stored.metadata.annotations).not.toHaveProperty([OWED]);
  });

  it('an owed restart that fails again is reported, and stays owed for the run after', async () => {
    const cluster = leftOwing('v0.13.12');
    cluster.metallb.cycles.push({ fails: '0 of 2 replacement pods Ready' });
    const { result } = await run(cluster);
    expect(result).toMatchObject({ status: 'failed', stage: 'reload' });
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, NEW]);
    expect(cluster.pool.stored.metadata.annotations).toHaveProperty([OWED]);
  });

  it('pods deleted but their replacements unobservable: no rollback, the mark stays for the next run', async () => {
    const cluster = synced();
    cluster.metallb.cycles.push({ unobserved: 'no answer from the Kubernetes API within 10 s' });
    const { result } = await run(cluster);
    expect(result).toMatchObject({ status: 'failed', stage: 'reload', after: [V4, NEW] });
    expect(result.error).toBe(
      "MetalLB's pods were deleted, but their replacements could not be observed: no answer from the Kubernetes API within 10 s; the pool keeps the new addresses and stays marked for a restart, which the next run makes",
    );
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, NEW]);
    expect(cluster.pool.stored.metadata.annotations).toHaveProperty([OWED]);
    // The next run pays it.
    expect((await run(cluster)).result).toMatchObject({ status: 'unchanged', reload: { action: 'cycled' } });
    expect(cluster.pool.stored.metadata.annotations).not.toHaveProperty([OWED]);
  });
});

describe('answers lost on the way back', () => {
  it('a restore the apiserver applied but whose answer was lost is reported as a rollback, not a failure', async () => {
    const cluster = synced();
    cluster.metallb.cycles.push({ fails: '0 of 2 replacement pods Ready' });
    // The write's answer arrives; the restore's is lost (and its retry gets 409).
    cluster.pool.lostAnswers = [false, true];
    const { result } = await run(cluster);
    expect(result).toMatchObject({ status: 'rolled-back', stage: 'reload', after: [V4, OLD] });
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, OLD]);
    expect(cluster.events.events.map((e) => e.reason)).toEqual(['RolledBack']);
  });

  it('a write whose answer was lost is found on the re-read by its run id: updated, and MetalLB restarted', async () => {
    const cluster = synced();
    cluster.pool.lostAnswers = [true];
    const { result } = await run(cluster);
    expect(result).toMatchObject({
      status: 'updated',
      added: [NEW],
      removed: [OLD],
      reload: { action: 'cycled' },
    });
    expect(cluster.events.events.map((e) => e.reason)).toEqual(['AddressesUpdated']);
    expect(cluster.trail).toContain('deletecollection pods 200');
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, NEW]);
    expect(cluster.pool.stored.metadata.annotations).not.toHaveProperty([OWED]);
  });
});

describe('a rollback racing another writer', () => {
  it('leaves the pool to the sync that wrote it since: no orphaned range, and later runs converge', async () => {
    const cluster = synced();
    const OTHER = range('2a02:8071:9999:56cd');
    // During our reload wait, another run (a push for another prefix) writes its own plan.
    cluster.metallb.duringCycle = () => {
      cluster.metallb.duringCycle = undefined;
      cluster.pool.edit((p) => {
        p.spec.addresses = [V4, OTHER];
        p.metadata.annotations = { ...p.metadata.annotations, ...ours(OTHER) };
      });
    };
    cluster.metallb.cycles.push({ fails: '0 of 2 replacement pods Ready' });
    const { result } = await run(cluster);
    expect(result).toMatchObject({ status: 'failed', stage: 'reload' });
    expect(result.error).toMatch(
      /not rolled back: another sync has written the pool since, and its addresses stay/,
    );
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, OTHER]);
    expect(cluster.events.events).toEqual([
      {
        type: 'Warning',
        reason: 'RollbackSkipped',
        message:
          'MetalLB did not come back within 10 s: 0 of 2 replacement pods Ready; not rolled back: another sync has written the pool since, and its addresses stay',
      },
    ]);
    // Every entry in the pool is either someone else's or recorded as ours: the next run converges.
    const next = await run(cluster);
    expect(next.result).toMatchObject({ status: 'updated', after: [V4, NEW] });
  });
});

describe('Warning Events do not flood', () => {
  it('the same reason and message once per window in a process; another message at once', () => {
    let now = 0;
    const limit = new EventRateLimit(600_000, () => now);
    expect(limit.admit('PrefixNotDetected', 'source my-ip: HTTP 502')).toBe(true);
    now += 599_999;
    expect(limit.admit('PrefixNotDetected', 'source my-ip: HTTP 502')).toBe(false);
    expect(limit.admit('PrefixNotDetected', 'source my-ip: HTTP 503')).toBe(true);
    expect(limit.admit('SyncFailed', 'source my-ip: HTTP 502')).toBe(true);
    now += 1;
    expect(limit.admit('PrefixNotDetected', 'source my-ip: HTTP 502')).toBe(true);
  });

  it('a write the apiserver refuses is told on the pool as SyncFailed', async () => {
    const cluster = synced();
    cluster.pool.failWrites.push(forbidden('writing'));
    const { result } = await run(cluster);
    expect(result).toMatchObject({ status: 'failed', stage: 'write' });
    expect(cluster.events.events).toEqual([
      {
        type: 'Warning',
        reason: 'SyncFailed',
        message: expect.stringMatching(/^writing IPAddressPool .*forbidden \(403\)/),
      },
    ]);
  });
});

describe('a burst of runs for one prefix', () => {
  const writesOfAddresses = (cluster: ReturnType<typeof synced>, before: string[]) => {
    // Each address write changes spec.addresses; claims and their release change annotations only.
    let last = before;
    let writes = 0;
    cluster.pool.beforeWrite = (pool) => {
      queueMicrotask(() => {
        const now = pool.stored.spec.addresses;
        if (JSON.stringify(now) !== JSON.stringify(last)) writes++;
        last = now;
      });
    };
    return () => writes;
  };

  it.each([
    ['plain', [{}, {}, {}, {}, {}, {}, {}, {}, {}, {}]],
    ['forced', [{ force: true }, { force: true }, { force: true }, { force: true }, { force: true }]],
    ['mixed', [{}, { force: true }, {}, { force: true }, {}, { force: true }]],
  ])('%s: one write of the addresses, one MetalLB restart, every run exits 0', async (_, requests) => {
    const cluster = synced('v0.13.12');
    const writes = writesOfAddresses(cluster, cluster.pool.stored.spec.addresses);
    const results = await Promise.all(requests.map((request) => run(cluster, { request })));
    const statuses = results.map((r) => r.result.status);
    expect(statuses.filter((s) => s === 'updated')).toHaveLength(1);
    expect(statuses.every((s) => ['updated', 'unchanged', 'joined'].includes(s))).toBe(true);
    expect(writes()).toBe(1);
    expect(cluster.trail.filter((t) => t.startsWith('deletecollection'))).toHaveLength(1);
    expect(cluster.pool.stored.spec.addresses).toEqual([V4, NEW]);
    expect(cluster.pool.stored.metadata.annotations).not.toHaveProperty([OWED]);
    // Those that joined say whose work they left it to.
    for (const r of results.filter((x) => x.result.status === 'joined'))
      expect(r.result.reload?.reason).toMatch(/^run [0-9a-f-]{36} is .* \(claimed until .*\); left to it$/);
  });

  it('a forced run that started before another forced restart began finds its wish granted', async () => {
    const cluster = synced('v0.14.9');
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const late: PrefixSource = {
      name: 'static',
      detect: async () => {
        await gate;
        return parseAnswer('static', `${SUBNET_OLD}::9`);
      },
    };
    const first = run(cluster, { source: late, request: { force: true } });
    const second = await run(cluster, { source: answering(SUBNET_OLD), request: { force: true } });
    expect(second.result).toMatchObject({ status: 'unchanged', reload: { action: 'cycled' } });
    release();
    const { result } = await first;
    expect(result).toMatchObject({ status: 'joined', reload: { action: 'none' } });
    expect(result.reload?.reason).toMatch(
      /^run [0-9a-f-]{36} restarted MetalLB at .*, less than 30 s before this run started or since$/,
    );
    expect(cluster.trail.filter((t) => t.startsWith('deletecollection'))).toHaveLength(1);
    // Within 30 s of that restart another forced run is content with it; later, force means force.
    const again = (startedAt: Date) =>
      run(cluster, { source: answering(SUBNET_OLD), request: { force: true, startedAt } });
    expect((await again(new Date(Date.now() + 29_000))).result.status).toBe('joined');
    expect((await again(new Date(Date.now() + 31_000))).result).toMatchObject({
      status: 'unchanged',
      reload: { action: 'cycled' },
    });
  });

  it('a claim a killed run left is taken over once it lapses, by one run only', async () => {
    const cluster = synced('v0.13.12');
    cluster.metallb.cycles.push({ unobserved: 'killed' });
    // A run that wrote and claimed the restart, then died before MetalLB came back.
    cluster.pool.edit((p) => {
      p.spec.addresses = [V4, NEW];
      p.metadata.annotations = {
        ...ours(NEW),
        [OWED]: JSON.stringify({ run: 'killed', until: '2099-01-01T00:00:00.000Z' }),
      };
    });
    cluster.metallb.cycles.length = 0;
    expect((await run(cluster)).result.status).toBe('joined');
    cluster.pool.lapseClaims();
    const results = await Promise.all([run(cluster), run(cluster), run(cluster)]);
    expect(results.map((r) => r.result.status).sort()).toEqual(['joined', 'joined', 'unchanged']);
    expect(cluster.trail.filter((t) => t.startsWith('deletecollection'))).toHaveLength(1);
    expect(cluster.pool.stored.metadata.annotations).not.toHaveProperty([OWED]);
  });
});
