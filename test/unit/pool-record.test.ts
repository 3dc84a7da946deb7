// The record metallb-dyn6 keeps in the pool's annotations: read strictly where a broken part could
// make it replace what is not its own, leniently where a misread only costs a restart; written
// together with the addresses; put back exactly by a rollback.
import { describe, expect, it } from '@jest/globals';
import { fail, ok } from '../../lib/errors/result.js';
import { claimFor } from '../../lib/plan/claims.js';
import {
  addressesRecord,
  LAST_PREFIX_ANNOTATION,
  LAST_RESTART_ANNOTATION,
  movingRecord,
  OWNED_ANNOTATION,
  PREFIX_HISTORY_ANNOTATION,
  previousRecord,
  readOwnership,
  readPoolRecord,
  readPrefixHistory,
  readReloadDebt,
  readRestart,
  readServicesMoving,
  reloadOwedRecord,
  restartPaidRecord,
  RELOAD_OWED_ANNOTATION,
  SERVICES_MOVING_ANNOTATION,
  WRITTEN_BY_ANNOTATION,
} from '../../lib/plan/pool-record.js';

const NOW = new Date('2026-12-06T02:00:00.000Z');
const NET = '2a02:8071:1234:56cd';
const OLD = '2a02:8071:1234:5600::1000-2a02:8071:1234:5600::1999';
const NEW = `${NET}::1000-${NET}::1999`;
const A = '2a02:8071:1234:5600::/64';
const B = `${NET}::/64`;
const recorded = (...entries: string[]) => ({ kind: 'recorded' as const, entries });

describe('the ownership record', () => {
  it('is written with the addresses and read back; absent is "none"; anything else is refused', () => {
    const record = { prefix: B, now: NOW, reload: { owed: false } as const, history: [A], run: 'r1' };
    const written = addressesRecord({ ...record, owned: [OLD, NEW] });
    expect(written).toEqual({
      [OWNED_ANNOTATION]: `["${OLD}","${NEW}"]`,
      [PREFIX_HISTORY_ANNOTATION]: `["${A}","${B}"]`,
      [LAST_PREFIX_ANNOTATION]: B,
      'metallb-dyn6/last-sync': '2026-12-06T02:00:00.000Z',
      [RELOAD_OWED_ANNOTATION]: null,
      [WRITTEN_BY_ANNOTATION]: 'r1',
      // The write completes a Services move: its record goes.
      [SERVICES_MOVING_ANNOTATION]: null,
    });
    expect(readOwnership({ [OWNED_ANNOTATION]: written[OWNED_ANNOTATION] ?? '' })).toEqual(
      ok(recorded(OLD, NEW)),
    );
    expect(readOwnership({})).toEqual(ok({ kind: 'none' }));
    expect(readOwnership(undefined)).toEqual(ok({ kind: 'none' }));
    for (const bad of ['a,b', '[1]', '["a",1]', '{"a":1}', '"a"', '']) {
      expect(readOwnership({ [OWNED_ANNOTATION]: bad })).toEqual(
        fail(
          `annotation metallb-dyn6/owned-addresses must be a JSON list of the pool entries metallb-dyn6 wrote, got ${JSON.stringify(bad)}; fix or remove it`,
        ),
      );
    }
  });

  it.each([
    ['an IPv4 range', '192.168.178.240/28'],
    ['a ULA range', 'fd00:1234::1000-fd00:1234::1999'],
    ['a link-local range', 'fe80::1000-fe80::1999'],
    ['a range wider than one /64', '2a02:8071:1234::/48'],
    ['a range across two /64s', '2a02:8071:1234:1::1-2a02:8071:1234:2::1'],
    ['something MetalLB would refuse', 'a'],
  ])('refuses a record naming %s, which this tool cannot have written', (_what, entry) => {
    expect(readOwnership({ [OWNED_ANNOTATION]: JSON.stringify([OLD, entry]) })).toEqual(
      fail(
        `annotation metallb-dyn6/owned-addresses names "${entry}", which metallb-dyn6 cannot have written (it writes only global IPv6 ranges inside one /64); fix or remove the annotation`,
      ),
    );
  });
});

describe('the owed restart in a write of the addresses', () => {
  const write = (reload: Parameters<typeof addressesRecord>[0]['reload']) =>
    addressesRecord({ owned: [NEW], prefix: B, now: NOW, reload, history: [], run: 'r1' });

  it('is a claim, the time an open debt arose, cleared, or left as the pool has it', () => {
    const claim = claimFor('r1', NOW, 1000);
    expect(write({ owed: true, claim })[RELOAD_OWED_ANNOTATION]).toBe(JSON.stringify(claim));
    expect(write({ owed: true })[RELOAD_OWED_ANNOTATION]).toBe('2026-12-06T02:00:00.000Z');
    expect(write({ owed: false })[RELOAD_OWED_ANNOTATION]).toBeNull();
    // A merge patch without the key leaves the mark as it is.
    expect(Object.keys(write('kept'))).not.toContain(RELOAD_OWED_ANNOTATION);
  });
});

describe('the owed restart', () => {
  it('reads a claim, the timestamp earlier releases wrote, anything else open to all', () => {
    expect(readReloadDebt(undefined)).toEqual({ owed: false });
    const claim = claimFor('a', NOW, 1000);
    expect(
      readReloadDebt(reloadOwedRecord({ owed: true, claim }, NOW)[RELOAD_OWED_ANNOTATION] ?? ''),
    ).toEqual({
      owed: true,
      claim,
    });
    expect(reloadOwedRecord({ owed: true }, NOW)).toEqual({
      [RELOAD_OWED_ANNOTATION]: '2026-12-06T02:00:00.000Z',
    });
    expect(readReloadDebt('2026-11-28T04:00:00.000Z')).toEqual({ owed: true });
    expect(readReloadDebt('{"run":"a","until":"2026-12-06T02:00:00.000Z"}')).toEqual({
      owed: true,
      claim: { run: 'a', until: '2026-12-06T02:00:00.000Z' },
    });
    for (const garbage of [
      '',
      '{',
      'null',
      '[]',
      '{"run":1,"until":"x"}',
      '{"run":"a","until":"soon"}',
      '{"run":"a"}',
      '{"run":"a","until":5}',
    ])
      expect(readReloadDebt(garbage)).toEqual({ owed: true });
  });

  it('paid: the mark cleared and the restart remembered, which reads back; anything else is none', () => {
    const paid = { run: 'a', at: '2026-12-06T02:00:00.000Z' };
    const patch = restartPaidRecord(paid);
    expect(patch).toEqual({
      [RELOAD_OWED_ANNOTATION]: null,
      [LAST_RESTART_ANNOTATION]: JSON.stringify(paid),
    });
    expect(readRestart(patch[LAST_RESTART_ANNOTATION] ?? undefined)).toEqual(paid);
    for (const garbage of [
      undefined,
      '',
      'x',
      'null',
      '5',
      '{"run":"a"}',
      '{"at":"2026-12-06T02:00:00.000Z"}',
    ])
      expect(readRestart(garbage)).toBeUndefined();
  });
});

describe('the record of a Services move', () => {
  it('is written, read back, removed, and refused with a bounded echo when broken', () => {
    expect(readServicesMoving(undefined)).toEqual(ok(undefined));
    const moving = { to: B, ...claimFor('a', NOW, 1000) };
    const patch = movingRecord(moving);
    expect(readServicesMoving(patch[SERVICES_MOVING_ANNOTATION] ?? undefined)).toEqual(ok(moving));
    expect(movingRecord(null)).toEqual({ [SERVICES_MOVING_ANNOTATION]: null });
    expect(readServicesMoving('{"run":"a","until":"2026-12-06T02:00:00.000Z"}')).toEqual(
      fail(
        `annotation ${SERVICES_MOVING_ANNOTATION} must be a JSON object {"to", "run", "until"}, got "{\\"run\\":\\"a\\",\\"until\\":\\"2026-12-06T02:00:00.000Z\\"}"; fix or remove it`,
      ),
    );
    expect(readServicesMoving('{"to":5,"run":"a","until":"2026-12-06T02:00:00.000Z"}').ok).toBe(false);
    const huge = readServicesMoving('x'.repeat(250_000));
    expect(huge.ok).toBe(false);
    if (!huge.ok) {
      expect(huge.error.length).toBeLessThan(700);
      expect(huge.error).toContain('(250000 bytes in all)');
    }
  });
});

describe('the prefix history', () => {
  it('is read with the current prefix last; a pool from before the history has only that', () => {
    expect(readPrefixHistory({ [LAST_PREFIX_ANNOTATION]: A })).toEqual(ok([A]));
    expect(
      readPrefixHistory({ [PREFIX_HISTORY_ANNOTATION]: JSON.stringify([A, B]), [LAST_PREFIX_ANNOTATION]: A }),
    ).toEqual(ok([B, A]));
    expect(readPrefixHistory({ [PREFIX_HISTORY_ANNOTATION]: JSON.stringify([A]) })).toEqual(ok([A]));
    expect(readPrefixHistory(undefined)).toEqual(ok([]));
  });

  it('a broken history is an error that names the annotation', () => {
    for (const raw of ['{', '"x"', '[1]'])
      expect(readPrefixHistory({ [PREFIX_HISTORY_ANNOTATION]: raw, [LAST_PREFIX_ANNOTATION]: A })).toEqual(
        fail(
          `annotation ${PREFIX_HISTORY_ANNOTATION} must be a JSON list of prefixes, got ${JSON.stringify(raw)}; fix or remove it`,
        ),
      );
  });
});

describe('the whole record', () => {
  it('is read in one go, every part from its annotation', () => {
    const claim = claimFor('a', NOW, 1000);
    const moving = { to: B, ...claim };
    const paid = { run: 'b', at: '2026-12-06T01:00:00.000Z' };
    const record = readPoolRecord({
      [OWNED_ANNOTATION]: JSON.stringify([NEW]),
      [LAST_PREFIX_ANNOTATION]: B,
      [RELOAD_OWED_ANNOTATION]: JSON.stringify(claim),
      [LAST_RESTART_ANNOTATION]: JSON.stringify(paid),
      [SERVICES_MOVING_ANNOTATION]: JSON.stringify(moving),
      [WRITTEN_BY_ANNOTATION]: 'a',
    });
    expect(record).toEqual({
      ownership: ok(recorded(NEW)),
      history: ok([B]),
      reload: { owed: true, claim },
      lastRestart: paid,
      moving: ok(moving),
      writtenBy: 'a',
    });
    expect(readPoolRecord(undefined)).toEqual({
      ownership: ok({ kind: 'none' }),
      history: ok([]),
      reload: { owed: false },
      lastRestart: undefined,
      moving: ok(undefined),
      writtenBy: undefined,
    });
  });

  it('a rollback puts back the record a pool had, removing what it did not have, owing a restart', () => {
    const claim = claimFor('r', NOW, 1000);
    expect(
      previousRecord({ 'team/owner': 'x', [LAST_PREFIX_ANNOTATION]: 'p' }, { owed: true, claim }, NOW),
    ).toEqual({
      [OWNED_ANNOTATION]: null,
      [LAST_PREFIX_ANNOTATION]: 'p',
      'metallb-dyn6/last-sync': null,
      [PREFIX_HISTORY_ANNOTATION]: null,
      [RELOAD_OWED_ANNOTATION]: JSON.stringify(claim),
      [WRITTEN_BY_ANNOTATION]: null,
      [SERVICES_MOVING_ANNOTATION]: null,
    });
    expect(previousRecord(undefined, { owed: false }, NOW)).toEqual({
      [OWNED_ANNOTATION]: null,
      [LAST_PREFIX_ANNOTATION]: null,
      'metallb-dyn6/last-sync': null,
      [PREFIX_HISTORY_ANNOTATION]: null,
      [RELOAD_OWED_ANNOTATION]: null,
      [WRITTEN_BY_ANNOTATION]: null,
      [SERVICES_MOVING_ANNOTATION]: null,
    });
  });
});
