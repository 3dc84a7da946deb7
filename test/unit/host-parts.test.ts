// Stable host numbering, the pure planner: which Service fields change when the pool moves from the
// old /64 to the new one, for every kind of pin, and which addresses cannot keep their host part.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { KeepMode } from '../../lib/config/choices.js';
import {
  DEPRECATED_PIN_ANNOTATION,
  KEEP_ANNOTATION,
  PIN_ANNOTATION,
  PINNED_BY_US_ANNOTATION,
  planHostParts,
  type LoadBalancerService,
} from '../../lib/plan/host-parts.js';
import { parsePoolEntry, type PoolEntry } from '../../lib/plan/pool-entry.js';
import { parseIPv6 } from '../../lib/prefix/ipv6.js';
import { range, SUBNET_NEW, SUBNET_OLD } from '../support/sync-settings.js';
import { metallbPinning } from '../../lib/cluster/metallb.js';

const entry = (text: string): PoolEntry => {
  const parsed = parsePoolEntry(text);
  if (parsed === undefined) throw new Error(text);
  return parsed;
};
const v6 = (text: string) => {
  const parsed = parseIPv6(text);
  if (parsed === undefined) throw new Error(text);
  return parsed;
};
const input = (mode: KeepMode, into = range(SUBNET_NEW)) => ({
  mode,
  from: [entry(range(SUBNET_OLD))],
  subnet: v6(`${SUBNET_NEW}::`),
  into: [entry(into)],
  pinning: metallbPinning(PIN_ANNOTATION),
});
const OLD = (host: string) => `${SUBNET_OLD}::${host}`;
const NEW = (host: string) => `${SUBNET_NEW}::${host}`;

function service(name: string, fields: Partial<LoadBalancerService> = {}): LoadBalancerService {
  return { namespace: 'apps', name, resourceVersion: '7', annotations: {}, ingress: [], ...fields };
}

describe('planHostParts', () => {
  const web = service('web', { ingress: [OLD('1005')] });

  it('none: no Service is looked at', () => {
    expect(planHostParts([web], input('none'))).toEqual({ moves: [], notKept: [] });
  });

  it('all: an unpinned Service is pinned to its host part under the new prefix, and the pin recorded as ours', () => {
    expect(planHostParts([web], input('all')).moves).toEqual([
      {
        namespace: 'apps',
        name: 'web',
        resourceVersion: '7',
        kind: 'pin',
        moved: [{ from: OLD('1005'), to: NEW('1005') }],
        set: { annotations: { [PIN_ANNOTATION]: NEW('1005'), [PINNED_BY_US_ANNOTATION]: NEW('1005') } },
        // Undone, the Service stays pinned (by us) where MetalLB had it, so it comes back there.
        was: { annotations: { [PIN_ANNOTATION]: OLD('1005'), [PINNED_BY_US_ANNOTATION]: OLD('1005') } },
      },
    ]);
  });

  it('pins with the annotation the installed MetalLB reads, and knows its own pin under either name', () => {
    const old = { ...input('all'), pinning: metallbPinning(DEPRECATED_PIN_ANNOTATION) };
    expect(planHostParts([web], old).moves[0]?.set.annotations).toEqual({
      [DEPRECATED_PIN_ANNOTATION]: NEW('1005'),
      [PINNED_BY_US_ANNOTATION]: NEW('1005'),
    });
    const oursUnderOldName = service('web', {
      annotations: { [DEPRECATED_PIN_ANNOTATION]: OLD('1005'), [PINNED_BY_US_ANNOTATION]: OLD('1005') },
    });
    expect(planHostParts([oursUnderOldName], input('all')).moves[0]?.set.annotations).toEqual({
      [DEPRECATED_PIN_ANNOTATION]: NEW('1005'),
      [PINNED_BY_US_ANNOTATION]: NEW('1005'),
    });
    expect(planHostParts([oursUnderOldName], input('annotated')).moves[0]).toMatchObject({
      kind: 'unpin',
      set: { annotations: { [DEPRECATED_PIN_ANNOTATION]: null, [PINNED_BY_US_ANNOTATION]: null } },
    });
  });

  it('annotated: only the Services that opted in with metallb-dyn6/keep-host-part=true', () => {
    const optedIn = service('mqtt', { ingress: [OLD('1006')], annotations: { [KEEP_ANNOTATION]: 'true' } });
    const optedOut = service('dns', { ingress: [OLD('1007')], annotations: { [KEEP_ANNOTATION]: 'false' } });
    const moves = planHostParts([web, optedIn, optedOut], input('annotated')).moves;
    expect(moves.map((m) => m.name)).toEqual(['mqtt']);
  });

  it("a person's pin in our old range is rewritten, its IPv4 entry and spacing byte for byte, and stays theirs (no record)", () => {
    const pinned = service('web', {
      annotations: { [PIN_ANNOTATION]: `192.168.178.241, ${OLD('1005')}`, team: 'x' },
      ingress: ['192.168.178.241', OLD('1005')],
    });
    const [move] = planHostParts([pinned], input('all')).moves;
    expect(move).toMatchObject({
      kind: 'rewrite',
      moved: [{ from: OLD('1005'), to: NEW('1005') }],
      set: { annotations: { [PIN_ANNOTATION]: `192.168.178.241, ${NEW('1005')}` } },
      was: { annotations: { [PIN_ANNOTATION]: `192.168.178.241, ${OLD('1005')}` } },
    });
    expect(Object.keys(move?.set.annotations ?? {})).toEqual([PIN_ANNOTATION]);
  });

  it('the deprecated annotation and spec.loadBalancerIP are rewritten the same way', () => {
    const old = service('old', { annotations: { [DEPRECATED_PIN_ANNOTATION]: OLD('101a') } });
    const spec = service('spec', { loadBalancerIP: OLD('101b') });
    const moves = planHostParts([old, spec], input('all')).moves;
    expect(moves.map((m) => [m.set, m.was])).toEqual([
      [
        { annotations: { [DEPRECATED_PIN_ANNOTATION]: NEW('101a') } },
        { annotations: { [DEPRECATED_PIN_ANNOTATION]: OLD('101a') } },
      ],
      [
        { annotations: {}, loadBalancerIP: NEW('101b') },
        { annotations: {}, loadBalancerIP: OLD('101b') },
      ],
    ]);
  });

  it('every pin of one Service is read at its own addresses, whatever the number of entries in the pins before it', () => {
    const three = service('three', {
      annotations: {
        [PIN_ANNOTATION]: `192.168.178.241,${OLD('1001')}`,
        [DEPRECATED_PIN_ANNOTATION]: `${OLD('1002')}, 192.168.178.242`,
      },
      loadBalancerIP: OLD('1003'),
      ingress: ['192.168.178.241', OLD('1001')],
    });
    const [move] = planHostParts([three], input('all')).moves;
    expect(move?.moved).toEqual([
      { from: OLD('1001'), to: NEW('1001') },
      { from: OLD('1002'), to: NEW('1002') },
      { from: OLD('1003'), to: NEW('1003') },
    ]);
    expect(move?.set).toEqual({
      annotations: {
        [PIN_ANNOTATION]: `192.168.178.241,${NEW('1001')}`,
        [DEPRECATED_PIN_ANNOTATION]: `${NEW('1002')}, 192.168.178.242`,
      },
      loadBalancerIP: NEW('1003'),
    });
  });

  it("a pin outside our range (a person's, elsewhere) and an IPv4-only Service are left alone", () => {
    const elsewhere = service('elsewhere', {
      annotations: { [PIN_ANNOTATION]: `${SUBNET_OLD}::2000` },
      ingress: [`${SUBNET_OLD}::2000`],
    });
    const other = service('other', { annotations: { [PIN_ANNOTATION]: '2001:470:1:2::5' } });
    const v4 = service('v4', { ingress: ['192.168.178.242'] });
    const pending = service('pending');
    expect(planHostParts([elsewhere, other, v4, pending], input('all'))).toEqual({ moves: [], notKept: [] });
  });

  it('our own pin moves with the prefix and its record follows it', () => {
    const ours = service('web', {
      annotations: { [PIN_ANNOTATION]: OLD('1005'), [PINNED_BY_US_ANNOTATION]: OLD('1005') },
      ingress: [OLD('1005')],
    });
    expect(planHostParts([ours], input('all')).moves[0]).toMatchObject({
      kind: 'rewrite',
      set: { annotations: { [PIN_ANNOTATION]: NEW('1005'), [PINNED_BY_US_ANNOTATION]: NEW('1005') } },
      was: { annotations: { [PIN_ANNOTATION]: OLD('1005'), [PINNED_BY_US_ANNOTATION]: OLD('1005') } },
    });
  });

  it('a pin of ours a person edited is theirs now: rewritten, and the stale record removed', () => {
    const edited = service('web', {
      annotations: { [PIN_ANNOTATION]: OLD('1010'), [PINNED_BY_US_ANNOTATION]: OLD('1005') },
    });
    expect(planHostParts([edited], input('all')).moves[0]?.set).toEqual({
      annotations: { [PIN_ANNOTATION]: NEW('1010'), [PINNED_BY_US_ANNOTATION]: null },
    });
  });

  it('our pin on a Service no longer kept is removed rather than left naming the dead prefix', () => {
    const ours = service('web', {
      annotations: { [PIN_ANNOTATION]: OLD('1005'), [PINNED_BY_US_ANNOTATION]: OLD('1005') },
    });
    expect(planHostParts([ours], input('annotated')).moves[0]).toMatchObject({
      kind: 'unpin',
      set: { annotations: { [PIN_ANNOTATION]: null, [PINNED_BY_US_ANNOTATION]: null } },
      was: { annotations: { [PIN_ANNOTATION]: OLD('1005'), [PINNED_BY_US_ANNOTATION]: OLD('1005') } },
    });
    // ...while a person's pin on a Service not kept is theirs to mind.
    const persons = service('web', { annotations: { [PIN_ANNOTATION]: OLD('1005') } });
    expect(planHostParts([persons], input('annotated')).moves).toEqual([]);
  });

  describe('a host part outside the new host ranges cannot be kept', () => {
    const narrower = range(SUBNET_NEW).replace('::1999', '::1004');
    const reason = 'its host part ::1005 is outside the new host ranges';

    it('an unpinned Service is left to MetalLB, and the report says why', () => {
      expect(planHostParts([web], input('all', narrower))).toEqual({
        moves: [],
        notKept: [{ service: 'apps/web', address: OLD('1005'), reason }],
      });
    });

    it("a person's pin is left as it is; a pin of ours is removed", () => {
      const persons = service('p', { annotations: { [PIN_ANNOTATION]: OLD('1005') } });
      const ours = service('o', {
        annotations: { [PIN_ANNOTATION]: OLD('1005'), [PINNED_BY_US_ANNOTATION]: OLD('1005') },
      });
      const plan = planHostParts([persons, ours], input('all', narrower));
      expect(plan.moves.map((m) => [m.name, m.kind])).toEqual([['o', 'unpin']]);
      expect(plan.notKept.map((n) => n.service)).toEqual(['apps/p', 'apps/o']);
    });
  });

  it("a dual-stack Service's pin names both families, as MetalLB requires: its IPv4 as assigned", () => {
    const dual = service('dual', { ingress: ['192.168.178.243', OLD('1008')] });
    expect(planHostParts([dual], input('all')).moves[0]?.set.annotations[PIN_ANNOTATION]).toBe(
      `192.168.178.243,${NEW('1008')}`,
    );
  });

  it('nothing moves when the prefix is the same (only the host range changed)', () => {
    const same = { ...input('all'), subnet: v6(`${SUBNET_OLD}::`), into: [entry(range(SUBNET_OLD))] };
    expect(planHostParts([web], same)).toEqual({ moves: [], notKept: [] });
  });

  it('the new address keeps every bit below the /64, not only the low ones', () => {
    const wide = {
      mode: 'all' as const,
      from: [entry(`${SUBNET_OLD}::/64`)],
      subnet: v6(`${SUBNET_NEW}::`),
      into: [entry(`${SUBNET_NEW}::/64`)],
      pinning: metallbPinning(PIN_ANNOTATION),
    };
    const deep = service('deep', { ingress: [`${SUBNET_OLD}:abcd:ef01:2345:6789`] });
    expect(planHostParts([deep], wide).moves[0]?.moved).toEqual([
      { from: `${SUBNET_OLD}:abcd:ef01:2345:6789`, to: `${SUBNET_NEW}:abcd:ef01:2345:6789` },
    ]);
  });
});

describe('planHostParts, for any Services (property)', () => {
  const hosts = ['1000', '1001', '1002', '1003', '1999', 'abc', '2000'];
  const address = fc.constantFrom(
    ...hosts.flatMap((host) => [OLD(host), NEW(host)]),
    '192.168.178.240',
    'not an address',
  );
  const pinList = fc.option(fc.array(address, { minLength: 1, maxLength: 2 }), { nil: undefined });
  const someService = fc.record({
    ingress: fc.array(address, { maxLength: 2 }),
    pin: pinList,
    // Pins under the other names MetalLB reads, so that a Service may carry pins of different lengths.
    deprecatedPin: pinList,
    specPin: fc.option(address, { nil: undefined }),
    ours: fc.boolean(),
  });
  const services = fc.array(someService, { maxLength: 12 }).map((list) =>
    list.map(({ ingress, pin, deprecatedPin, specPin, ours }, i) => {
      const value = pin?.join(',');
      const annotations: Record<string, string> = {
        ...(value === undefined
          ? {}
          : { [PIN_ANNOTATION]: value, ...(ours ? { [PINNED_BY_US_ANNOTATION]: value } : {}) }),
        ...(deprecatedPin === undefined ? {} : { [DEPRECATED_PIN_ANNOTATION]: deprecatedPin.join(',') }),
      };
      return service(`s${String(i)}`, {
        ingress,
        annotations,
        ...(specPin === undefined ? {} : { loadBalancerIP: specPin }),
      });
    }),
  );
  const groups = (text: string) => v6(text).parts;

  it('every address moved keeps its host part under the new prefix, and no two Services are given one address', () => {
    fc.assert(
      fc.property(services, (list) => {
        const { moves } = planHostParts(list, input('all'));
        const given = new Map<string, string>();
        for (const move of moves) {
          for (const { from, to } of move.moved) {
            expect(groups(to).slice(0, 4)).toEqual(v6(`${SUBNET_NEW}::`).parts.slice(0, 4));
            expect(groups(to).slice(4)).toEqual(groups(from).slice(4));
            const key = v6(to).toNormalizedString();
            expect(given.get(key) ?? move.name).toBe(move.name);
            given.set(key, move.name);
          }
        }
        // Nor an address another Service has or is pinned to, unless it already had it too (a person's
        // pins may share an address before the plan; the plan adds no sharing).
        const heldBy = (name: string) => {
          const one = list.find((s) => s.name === name);
          const texts = [
            ...(one?.ingress ?? []),
            ...[PIN_ANNOTATION, DEPRECATED_PIN_ANNOTATION].flatMap(
              (a) => one?.annotations[a]?.split(',') ?? [],
            ),
            ...(one?.loadBalancerIP === undefined ? [] : [one.loadBalancerIP]),
          ];
          return texts.flatMap((text) => parseIPv6(text)?.toNormalizedString() ?? []);
        };
        for (const other of list) {
          for (const key of heldBy(other.name)) {
            const receiver = given.get(key);
            if (receiver !== undefined && receiver !== other.name) expect(heldBy(receiver)).toContain(key);
          }
        }
      }),
    );
  });
});
