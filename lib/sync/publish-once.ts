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
  type PublishPlan,
} from '../plan/published.js';

/** What a Service's targets are planned from, but the Services. */
type Rules = Omit<PublishInput, 'services'>;
import { networkOf } from '../prefix/ipv6.js';
import { checkAnswerLength, type PrefixPolicy } from '../prefix/subnet.js';
import type { PrefixSource } from '../source/source.js';
import { retryOnConflict } from '../cluster/conflicts.js';
import type { EventSink, NodeDirectory, RequestCounter, ServiceResource } from '../cluster/ports.js';
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
  let plan: PublishPlan;
  try {
    plan = planPublication({ ...input, services: await target.services.list() });
  } catch (error) {
    return report.failed('services', errorText(error), { ...found, prefix });
  }
  const published = (changes: Publication[], failures: NotPublished[] = []): PublishReport => ({
    translation: nptv6.translation,
    inside,
    changed: changes.map((c) => ({
      service: `${c.namespace}/${c.name}`,
      targets: c.targets,
      ...(c.was === undefined ? {} : { was: c.was }),
    })),
    notPublished: [...plan.notPublished, ...failures],
  });
  const fields = (changes: Publication[], failures?: NotPublished[]): ReportFields => ({
    ...found,
    prefix,
    published: published(changes, failures),
  });
  if (request.dryRun ?? settings.dryRun) return report.done('dry-run', fields(plan.changes));
  const { done, left, failures } = await applyAll(plan.changes, input, target, log);
  plan.notPublished.push(...left);
  if (failures.length > 0) {
    const message = failures.map((f) => `${f.service}: ${f.reason}`).join('; ');
    return report.failed('services', message, fields(done, failures));
  }
  return report.done(done.length > 0 ? 'updated' : 'unchanged', fields(done));
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
      await announce(outcome, target, log);
    } catch (error) {
      failures.push({ service: `${change.namespace}/${change.name}`, reason: errorText(error) });
    }
  }
  return { done, left, failures };
}

/** Best effort: an Event on the Service, saying what is published now and what was. */
async function announce(applied: Publication, target: PublishTarget, log: Logger): Promise<void> {
  const message =
    applied.targets.length === 0
      ? `published targets removed (were ${applied.was ?? '?'})`
      : `published ${applied.targets.join(', ')}${applied.was === undefined ? '' : ` (was ${applied.was})`}`;
  const service = { namespace: applied.namespace, name: applied.name };
  const recorded = await target.events.record(service, 'Normal', 'PublishedAddressChanged', message);
  if (!recorded.ok)
    log.warn('could not record an Event', {
      service: `${service.namespace}/${service.name}`,
      error: recorded.error,
    });
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
