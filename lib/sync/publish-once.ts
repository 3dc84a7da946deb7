// One NPTv6 run (--nptv6): the pool is stable and never written; the router translates its inside
// prefix to the ISP's. Detect the outside prefix → list the LoadBalancer Services → plan each one's
// public targets (plan/published.ts) → patch them, each at its resourceVersion → report, with an Event
// on every Service whose published address changed.
import type { Nptv6Settings } from '../config/config.js';
import { errorText } from '../errors/error-text.js';
import type { Logger } from '../log/logger.js';
import {
  planPublication,
  type NotPublished,
  type Publication,
  type PublishInput,
} from '../plan/published.js';

/** What a Service's targets are planned from, but the Services. */
type Rules = Omit<PublishInput, 'services'>;
import { networkOf } from '../prefix/ipv6.js';
import { checkAnswerLength, type PrefixPolicy } from '../prefix/subnet.js';
import type { PrefixSource } from '../source/source.js';
import { retryOnConflict } from '../cluster/conflicts.js';
import type {
  EventSink,
  NodeDirectory,
  RecordResource,
  RequestCounter,
  ServiceResource,
} from '../cluster/ports.js';
import { planRecords, targetsIn } from '../plan/dns-records.js';
import { detect } from './detect.js';
import type { PublishReport, SyncResult } from './result.js';
import { startReport, type ReportFields } from './run-report.js';
import type { SyncRequest } from './sync-once.js';

export interface PublishSettings {
  nptv6: Nptv6Settings;
  policy: PrefixPolicy;
  detectDeadlineMs: number;
  dryRun: boolean;
}

export interface PublishTarget {
  nodes: NodeDirectory;
  services: ServiceResource;
  /** Only with --nptv6-records dnsendpoint. */
  records?: RecordResource;
  /** Events on the Services. */
  events: EventSink;
  counter: RequestCounter;
}

export async function publishOnce(
  settings: PublishSettings,
  source: PrefixSource,
  target: PublishTarget,
  log: Logger,
  request: SyncRequest = {},
): Promise<SyncResult> {
  const { nptv6 } = settings;
  const inside = `${nptv6.inside.toString()}/${String(nptv6.length)}`;
  const report = startReport(`nptv6 ${inside}`, target.counter, log, request.trigger);
  const detected = await detect(source, settings.detectDeadlineMs, target.nodes, request);
  if (!detected.ok) return report.failed('detect', detected.error, { source: source.name });
  const { raw, address, prefixLength } = detected.value;
  const found = { source: detected.value.source, answer: raw };
  const plausible = checkAnswerLength(raw, prefixLength, settings.policy);
  if (!plausible.ok) return report.failed('detect', plausible.error, found);
  const outside = networkOf(address, nptv6.length);
  const prefix = `${outside.toString()}/${String(nptv6.length)}`;
  const input: Rules = {
    mapping: { inside: nptv6.inside, outside, length: nptv6.length },
    translation: nptv6.translation,
    mode: nptv6.publish,
  };
  const dryRun = request.dryRun ?? settings.dryRun;
  let outcome: Published;
  try {
    const services = await target.services.list();
    outcome =
      nptv6.records === 'dnsendpoint'
        ? await publishRecords({ ...input, services }, target, log, dryRun)
        : await publishAnnotations({ ...input, services }, target, log, dryRun);
  } catch (error) {
    return report.failed('services', errorText(error), { ...found, prefix });
  }
  const fields: ReportFields = {
    ...found,
    prefix,
    published: {
      translation: nptv6.translation,
      inside,
      changed: outcome.changed,
      notPublished: [...outcome.notPublished, ...outcome.failures],
    },
  };
  if (dryRun) return report.done('dry-run', fields);
  if (outcome.failures.length > 0) {
    const message = outcome.failures.map((f) => `${f.service}: ${f.reason}`).join('; ');
    return report.failed('services', message, fields);
  }
  return report.done(outcome.changed.length > 0 ? 'updated' : 'unchanged', fields);
}

/** What a publisher did (or, dry run, would do), what it left alone, and what failed. */
interface Published {
  changed: PublishReport['changed'];
  notPublished: NotPublished[];
  failures: NotPublished[];
}

const changeOf = (service: string, targets: string[], was?: string): PublishReport['changed'][number] => ({
  service,
  targets,
  ...(was === undefined ? {} : { was }),
});

/** The Services' own external-dns target annotations. */
async function publishAnnotations(
  input: PublishInput,
  target: PublishTarget,
  log: Logger,
  dryRun: boolean,
): Promise<Published> {
  const plan = planPublication(input);
  const report = (changes: Publication[]) =>
    changes.map((c) => changeOf(`${c.namespace}/${c.name}`, c.targets, c.was));
  if (dryRun) return { changed: report(plan.changes), notPublished: plan.notPublished, failures: [] };
  const { done, left, failures } = await applyAll(plan.changes, input, target, log);
  return { changed: report(done), notPublished: [...plan.notPublished, ...left], failures };
}

/** DNSEndpoints of our own, one per Service, the Services only read. */
async function publishRecords(
  input: PublishInput,
  target: PublishTarget,
  log: Logger,
  dryRun: boolean,
): Promise<Published> {
  const records = target.records;
  if (records === undefined)
    throw new Error('internal: --nptv6-records dnsendpoint without a DNSEndpoint resource');
  const plan = planRecords(input, await records.listOwned());
  const changed: PublishReport['changed'] = [];
  const failures: NotPublished[] = [];
  for (const change of plan.changes) {
    const was = change.kind === 'create' ? undefined : targetsIn(change.was).join(',');
    const entry = changeOf(change.service, change.kind === 'delete' ? [] : targetsIn(change.endpoints), was);
    if (dryRun) {
      changed.push(entry);
      continue;
    }
    try {
      if (change.kind === 'create')
        await records.create(change.namespace, change.name, change.service, change.endpoints);
      else if (change.kind === 'update')
        await records.update(change.namespace, change.name, change.resourceVersion, change.endpoints);
      else await records.delete(change.namespace, change.name, change.resourceVersion);
      changed.push(entry);
      await announce(entry, target, log);
    } catch (error) {
      failures.push({ service: change.service, reason: errorText(error) });
    }
  }
  return { changed, notPublished: plan.notPublished, failures };
}

/** Patches every Service of the plan; returns what was published and what failed, one line each. */
async function applyAll(
  changes: readonly Publication[],
  input: Rules,
  target: PublishTarget,
  log: Logger,
): Promise<{ done: Publication[]; left: NotPublished[]; failures: NotPublished[] }> {
  const done: Publication[] = [];
  const left: NotPublished[] = [];
  const failures: NotPublished[] = [];
  for (const change of changes) {
    try {
      const outcome = await publishOne(change, input, target);
      if (!('targets' in outcome)) {
        left.push(...outcome);
        continue;
      }
      done.push(outcome);
      await announce(
        changeOf(`${outcome.namespace}/${outcome.name}`, outcome.targets, outcome.was),
        target,
        log,
      );
    } catch (error) {
      failures.push({ service: `${change.namespace}/${change.name}`, reason: errorText(error) });
    }
  }
  return { done, left, failures };
}

/** Best effort: an Event on the Service, saying what is published now and what was. */
async function announce(
  change: PublishReport['changed'][number],
  target: PublishTarget,
  log: Logger,
): Promise<void> {
  const message =
    change.targets.length === 0
      ? `published targets removed (were ${change.was ?? '?'})`
      : `published ${change.targets.join(', ')}${change.was === undefined ? '' : ` (was ${change.was})`}`;
  const [namespace = '', name = ''] = change.service.split('/');
  const recorded = await target.events.record(
    { namespace, name },
    'Normal',
    'PublishedAddressChanged',
    message,
  );
  if (!recorded.ok) log.warn('could not record an Event', { service: change.service, error: recorded.error });
}

/**
 * One Service's patch at the resourceVersion it was planned from; on a conflict the Service is read
 * and planned again (someone's target annotation since then wins). What was written, or why nothing
 * is (empty: nothing is left to do).
 */
async function publishOne(
  planned: Publication,
  input: Rules,
  target: PublishTarget,
): Promise<Publication | NotPublished[]> {
  const ref = { namespace: planned.namespace, name: planned.name };
  return retryOnConflict(async (conflicts): Promise<Publication | NotPublished[]> => {
    let change: Publication | undefined = planned;
    if (conflicts > 0) {
      const fresh = await target.services.get(ref);
      if (fresh === undefined) return [];
      const again = planPublication({ ...input, services: [fresh] });
      change = again.changes[0];
      if (change === undefined) return again.notPublished;
    }
    await target.services.patch(ref, change.resourceVersion, change.set);
    return change;
  });
}
