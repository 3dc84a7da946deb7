// NPTv6 mode (--nptv6): the pool stays as it is; each LoadBalancer Service with an inside address
// gets its public address written where external-dns reads it. The plan alone, then whole runs on
// the in-memory cluster: published once, left alone when right, never over a person's target, each
// Service patched at its resourceVersion.
import { describe, expect, it } from '@jest/globals';
import ipaddr from 'ipaddr.js';
import type { Nptv6Settings } from '../../lib/config/config.js';
import { jsonLogger } from '../../lib/log/logger.js';
import {
  PUBLISH_ANNOTATION,
  PUBLISHED_BY_US_ANNOTATION,
  TARGET_ANNOTATIONS,
  type LoadBalancerService,
} from '../../lib/plan/host-parts.js';
import { planPublication, type PublishInput } from '../../lib/plan/published.js';
import { planRecords } from '../../lib/plan/dns-records.js';
import { publishOnce } from '../../lib/sync/publish-once.js';
import { parseAnswer } from '../../lib/source/answer.js';
import { staticSource } from '../../lib/source/static.js';
import { inMemoryCluster } from '../support/in-memory-cluster.js';

const [TARGET, LEGACY_TARGET] = TARGET_ANNOTATIONS;
const INSIDE = 'fd00:1234:5678:ab00::';
const OUTSIDE = '2a02:8071:1234:5600::';
const NEXT = '2a02:8071:4321:ab00::';
const V4 = '192.168.178.241';

const service = (name: string, ingress: string[], annotations: Record<string, string> = {}) => ({
  namespace: 'apps',
  name,
  resourceVersion: '1',
  annotations,
  ingress,
});

const input = (services: LoadBalancerService[], overrides: Partial<PublishInput> = {}): PublishInput => ({
  services,
  mapping: { inside: ipaddr.IPv6.parse(INSIDE), outside: ipaddr.IPv6.parse(OUTSIDE), length: 56 },
  translation: 'netmap',
  mode: 'all',
  ...overrides,
});

describe('what to publish', () => {
  it("publishes each inside address translated and carries the Service's IPv4 address", () => {
    const plan = planPublication(input([service('web', [V4, 'fd00:1234:5678:abcd::1005'])]));
    expect(plan.changes).toEqual([
      expect.objectContaining({
        name: 'web',
        targets: [V4, '2a02:8071:1234:56cd::1005'],
        set: {
          annotations: {
            [TARGET]: `${V4},2a02:8071:1234:56cd::1005`,
            [LEGACY_TARGET]: `${V4},2a02:8071:1234:56cd::1005`,
            [PUBLISHED_BY_US_ANNOTATION]: `${V4},2a02:8071:1234:56cd::1005`,
          },
        },
      }),
    ]);
  });

  it('leaves Services without an inside address (or none yet: pending) alone', () => {
    const plan = planPublication(
      input([service('v4only', [V4]), service('pending', []), service('gua', ['2001:db8::5'])]),
    );
    expect(plan).toEqual({ changes: [], notPublished: [] });
  });

  it('with annotated, publishes only Services that opted in', () => {
    const services = [
      service('web', ['fd00:1234:5678:abcd::1005'], { [PUBLISH_ANNOTATION]: 'true' }),
      service('mqtt', ['fd00:1234:5678:abcd::1006']),
    ];
    expect(planPublication(input(services, { mode: 'annotated' })).changes.map((c) => c.name)).toEqual([
      'web',
    ]);
  });

  it("never writes over a person's target annotation, and says so", () => {
    const plan = planPublication(
      input([service('web', ['fd00:1234:5678:abcd::1005'], { [LEGACY_TARGET]: 'home.example.net' })]),
    );
    expect(plan.changes).toEqual([]);
    expect(plan.notPublished).toEqual([
      { service: 'apps/web', reason: 'has a target annotation of its own (home.example.net): left as it is' },
    ]);
  });

  it('changes nothing when what we published is still right', () => {
    const value = '2a02:8071:1234:56cd::1005';
    const annotations = { [TARGET]: value, [LEGACY_TARGET]: value, [PUBLISHED_BY_US_ANNOTATION]: value };
    expect(
      planPublication(input([service('web', ['fd00:1234:5678:abcd::1005'], annotations)])).changes,
    ).toEqual([]);
  });

  it('rewrites what we published when the outside prefix moved, and removes it when the Service left the inside prefix', () => {
    const old = '2a02:8071:1234:56cd::1005';
    const ours = { [TARGET]: old, [LEGACY_TARGET]: old, [PUBLISHED_BY_US_ANNOTATION]: old };
    const moved = planPublication(
      input([service('web', ['fd00:1234:5678:abcd::1005'], ours)], {
        mapping: { inside: ipaddr.IPv6.parse(INSIDE), outside: ipaddr.IPv6.parse(NEXT), length: 56 },
      }),
    );
    expect(moved.changes).toEqual([
      expect.objectContaining({ targets: ['2a02:8071:4321:abcd::1005'], was: old }),
    ]);
    const gone = planPublication(input([service('web', ['2001:db8::5'], ours)]));
    expect(gone.changes).toEqual([
      expect.objectContaining({
        targets: [],
        was: old,
        set: { annotations: { [TARGET]: null, [LEGACY_TARGET]: null, [PUBLISHED_BY_US_ANNOTATION]: null } },
      }),
    ]);
  });

  it('reports an address RFC 6296 cannot translate instead of publishing a wrong one', () => {
    const plan = planPublication(
      input([service('odd', ['fd00:1234:5678:ab00:ffff:ffff:ffff:ffff'])], {
        translation: 'rfc6296',
        mapping: { inside: ipaddr.IPv6.parse(INSIDE), outside: ipaddr.IPv6.parse(OUTSIDE), length: 64 },
      }),
    );
    expect(plan.changes).toEqual([]);
    expect(plan.notPublished[0]?.reason).toMatch(/RFC 6296 cannot translate it/);
  });
});

describe('an NPTv6 run', () => {
  const nptv6: Nptv6Settings = {
    translation: 'netmap',
    inside: ipaddr.IPv6.parse(INSIDE),
    length: 56,
    publish: 'all',
    records: 'annotations',
  };
  const settings = {
    nptv6,
    policy: { delegatedLength: 56, shortestAnswer: 48 },
    detectDeadlineMs: 5000,
    dryRun: false,
  };
  const home = () => {
    const cluster = inMemoryCluster([
      '192.168.178.240/28',
      'fd00:1234:5678:abcd::1000-fd00:1234:5678:abcd::1999',
    ]);
    cluster.services.add({
      namespace: 'apps',
      name: 'web',
      annotations: {},
      ingress: [V4, 'fd00:1234:5678:abcd::1005'],
    });
    const target = {
      nodes: cluster.target.nodes,
      services: cluster.services,
      events: cluster.events,
      counter: cluster.target.counter,
    };
    return { cluster, target };
  };
  const at = (prefix: string) => staticSource(parseAnswer('static', `${prefix}12::9`));
  const run = (target: ReturnType<typeof home>['target'], prefix: string, dryRun = false) =>
    publishOnce(settings, at(prefix), target, jsonLogger('error'), { dryRun });

  it('publishes, then finds nothing to do; the pool is never read or written', async () => {
    const { cluster, target } = home();
    const first = await run(target, '2a02:8071:1234:56');
    expect(first).toMatchObject({
      status: 'updated',
      pool: `nptv6 ${INSIDE}/56`,
      prefix: '2a02:8071:1234:5600::/56',
      published: {
        translation: 'netmap',
        changed: [{ service: 'apps/web', targets: [V4, '2a02:8071:1234:56cd::1005'] }],
      },
    });
    expect(cluster.services.stored('apps', 'web')?.annotations[TARGET]).toBe(
      `${V4},2a02:8071:1234:56cd::1005`,
    );
    expect(cluster.events.events).toEqual([
      expect.objectContaining({
        reason: 'PublishedAddressChanged',
        message: `published ${V4}, 2a02:8071:1234:56cd::1005`,
      }),
    ]);
    expect(await run(target, '2a02:8071:1234:56')).toMatchObject({
      status: 'unchanged',
      published: { changed: [] },
    });
    expect(cluster.trail.filter((r) => r.includes('ipaddresspools'))).toEqual([]);
  });

  it('follows the ISP to a new prefix, and says what it was', async () => {
    const { cluster, target } = home();
    await run(target, '2a02:8071:1234:56');
    const next = await run(target, '2a02:8071:4321:ab');
    expect(next.published?.changed).toEqual([
      {
        service: 'apps/web',
        targets: [V4, '2a02:8071:4321:abcd::1005'],
        was: `${V4},2a02:8071:1234:56cd::1005`,
      },
    ]);
    expect(cluster.services.stored('apps', 'web')?.annotations[LEGACY_TARGET]).toBe(
      `${V4},2a02:8071:4321:abcd::1005`,
    );
  });

  it('writes nothing in a dry run', async () => {
    const { cluster, target } = home();
    const result = await run(target, '2a02:8071:1234:56', true);
    expect(result).toMatchObject({ status: 'dry-run', published: { changed: [{ service: 'apps/web' }] } });
    expect(cluster.services.stored('apps', 'web')?.annotations).toEqual({});
  });

  it('re-reads a Service changed meanwhile, and leaves it to the person who set a target on it', async () => {
    const { cluster, target } = home();
    cluster.services.beforePatch = (ref) => {
      cluster.services.beforePatch = undefined;
      cluster.services.edit(ref, (s) => {
        s.annotations = { [TARGET]: 'mine.example.net' };
      });
    };
    const result = await run(target, '2a02:8071:1234:56');
    expect(result).toMatchObject({
      status: 'unchanged',
      published: {
        notPublished: [
          {
            service: 'apps/web',
            reason: 'has a target annotation of its own (mine.example.net): left as it is',
          },
        ],
      },
    });
    expect(cluster.services.stored('apps', 'web')?.annotations).toEqual({ [TARGET]: 'mine.example.net' });
  });

  it('fails with what could not be written, without stopping at the first Service', async () => {
    const { cluster, target } = home();
    cluster.services.add({
      namespace: 'iot',
      name: 'mqtt',
      annotations: {},
      ingress: ['fd00:1234:5678:abcd::1006'],
    });
    cluster.services.forbidden = 'patch';
    const result = await run(target, '2a02:8071:1234:56');
    expect(result).toMatchObject({ status: 'failed', stage: 'services' });
    expect(result.published?.notPublished.map((n) => n.service)).toEqual(['apps/web', 'iot/mqtt']);
    expect(result.error).toMatch(/^apps\/web: patching Service apps\/web: forbidden \(403\)/);
  });
});

describe('publishing as DNSEndpoints (--nptv6-records dnsendpoint)', () => {
  const HOST = 'external-dns.alpha.kubernetes.io/hostname';
  const named = (name: string, ingress: string[], hostnames?: string) =>
    service(name, ingress, hostnames === undefined ? {} : { [HOST]: hostnames });

  it('plans an AAAA and an A record for each hostname, and leaves a Service without a hostname to say so', () => {
    const plan = planRecords(
      input([
        named('web', [V4, 'fd00:1234:5678:abcd::1005'], 'web.example.net, www.example.net'),
        named('mqtt', ['fd00:1234:5678:abcd::1006']),
      ]),
      [],
    );
    expect(plan.changes).toEqual([
      {
        kind: 'create',
        namespace: 'apps',
        name: 'metallb-dyn6-web',
        service: 'apps/web',
        endpoints: [
          { dnsName: 'web.example.net', recordType: 'AAAA', targets: ['2a02:8071:1234:56cd::1005'] },
          { dnsName: 'web.example.net', recordType: 'A', targets: [V4] },
          { dnsName: 'www.example.net', recordType: 'AAAA', targets: ['2a02:8071:1234:56cd::1005'] },
          { dnsName: 'www.example.net', recordType: 'A', targets: [V4] },
        ],
      },
    ]);
    expect(plan.notPublished).toEqual([
      {
        service: 'apps/mqtt',
        reason: 'no hostname to publish under: annotate it external-dns.kubernetes.io/hostname',
      },
    ]);
  });

  it('updates ours when the prefix moved, leaves it when right, and deletes ours whose Service is gone', () => {
    const web = named('web', ['fd00:1234:5678:abcd::1005'], 'web.example.net');
    const right = [
      { dnsName: 'web.example.net', recordType: 'AAAA' as const, targets: ['2a02:8071:1234:56cd::1005'] },
    ];
    const owned = (service: string, endpoints: typeof right) => ({
      namespace: 'apps',
      name: `metallb-dyn6-${service}`,
      resourceVersion: '7',
      service: `apps/${service}`,
      endpoints,
    });
    expect(planRecords(input([web]), [owned('web', right)]).changes).toEqual([]);
    const moved = planRecords(
      input([web], {
        mapping: { inside: ipaddr.IPv6.parse(INSIDE), outside: ipaddr.IPv6.parse(NEXT), length: 56 },
      }),
      [owned('web', right), owned('gone', right)],
    );
    expect(moved.changes.map((c) => [c.kind, c.name])).toEqual([
      ['update', 'metallb-dyn6-web'],
      ['delete', 'metallb-dyn6-gone'],
    ]);
  });

  it('in a run, creates the records and reads the Services only', async () => {
    const cluster = inMemoryCluster([]);
    cluster.services.add({
      namespace: 'apps',
      name: 'web',
      annotations: { [HOST]: 'web.example.net' },
      ingress: ['fd00:1234:5678:abcd::1005'],
    });
    const created: string[] = [];
    const records = {
      listOwned: () => Promise.resolve([]),
      create: (namespace: string, name: string) => {
        created.push(`${namespace}/${name}`);
        return Promise.resolve();
      },
      update: () => Promise.reject(new Error('not expected')),
      delete: () => Promise.reject(new Error('not expected')),
    };
    const target = {
      nodes: cluster.target.nodes,
      services: cluster.services,
      events: cluster.events,
      counter: cluster.target.counter,
      records,
    };
    const settings = {
      nptv6: {
        translation: 'netmap' as const,
        inside: ipaddr.IPv6.parse(INSIDE),
        length: 56,
        publish: 'all' as const,
        records: 'dnsendpoint' as const,
      },
      policy: { delegatedLength: 56, shortestAnswer: 48 },
      detectDeadlineMs: 5000,
      dryRun: false,
    };
    const result = await publishOnce(
      settings,
      staticSource(parseAnswer('static', '2a02:8071:1234:5612::9')),
      target,
      jsonLogger('error'),
    );
    expect(result).toMatchObject({
      status: 'updated',
      published: { changed: [{ service: 'apps/web', targets: ['2a02:8071:1234:56cd::1005'] }] },
    });
    expect(created).toEqual(['apps/metallb-dyn6-web']);
    expect(cluster.trail.filter((r) => r.startsWith('patch'))).toEqual([]);
  });
});
