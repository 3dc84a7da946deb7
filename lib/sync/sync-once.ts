// One sync run as a pipeline (external-dns's Controller.RunOnce): detect the prefix → plan the pool
// and write it → have the load balancer take it, or roll the write back → report. Each step hands the next
// what it needs, or the failure that ends the run.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import { checkAnswerLength, desiredEntries, subnetFor } from '../prefix/subnet.js';
import type { PrefixSource, SourceAnswer } from '../source/source.js';
import { HostPartKeeper } from './host-part-keeper.js';
import { detect } from './detect.js';
import type { FailureStage, SyncResult } from './result.js';
import { startReport, type ReportFields } from './run-report.js';
import {
  announce,
  claimedBy,
  leftToOther,
  servicesOf,
  type Run,
  type SyncSettings,
  type SyncTarget,
  type Wanted,
} from './run.js';
import { takeOrRollBack } from './take-pool.js';
import { planAndWrite } from './write-pool.js';

export type { SyncSettings, SyncTarget } from './run.js';

export interface SyncRequest {
  /** What started this run: cli, schedule, http... (reported only). */
  trigger?: string;
  dryRun?: boolean;
  /** Reload the load balancer even if the pool is already right. */
  force?: boolean;
  /** A prefix pushed by the caller, used instead of asking the source. */
  answer?: SourceAnswer;
  /** Ends detection early: the run's deadline, or a signal to the process. */
  stop?: AbortSignal;
  /**
   * When the caller asked (default: now): a forced run counts a restart begun since as its own.
   * A process started for this one run (the CLI, a CronJob) passes its own start.
   */
  startedAt?: Date;
}

export async function syncOnce(
  settings: SyncSettings,
  source: PrefixSource,
  target: SyncTarget,
  log: Logger,
  request: SyncRequest = {},
): Promise<SyncResult> {
  const run: Run = {
    id: randomUUID(),
    startedAt: request.startedAt ?? new Date(),
    settings,
    target,
    log,
    report: startReport(target.pool.name, target.counter, log, request.trigger),
    keeper: new HostPartKeeper(target.services, target.loadBalancer, settings.keepHostParts),
  };
  const detected = await detect(source, settings.detectDeadlineMs, target.nodes, request);
  if (!detected.ok) return stopEarly(run, 'detect', detected.error, { source: source.name });
  const { alternatives = [], ...primary } = detected.value;
  const answers = [primary, ...alternatives];
  for (const { raw, prefixLength, source } of answers) {
    const plausible = checkAnswerLength(raw, prefixLength, settings.policy);
    if (!plausible.ok) return stopEarly(run, 'detect', plausible.error, { source, answer: raw });
  }
  const candidates = answers.map((answer) => wantedPool(answer, settings));
  const [first] = candidates;
  log.debug('prefix detected', {
    ...first?.found,
    desired: first?.entries,
    ...(candidates.length > 1 ? { inUse: candidates.map((c) => c.prefix) } : {}),
  });

  const mode = { dryRun: request.dryRun ?? settings.dryRun, force: request.force ?? false };
  const planned = await planAndWrite(run, candidates, mode);
  if (!planned.ok) {
    const { stage, message, fields } = planned.error;
    const found =
      candidates.length === 1 ? candidates[0]?.found : { source: primary.source, answer: primary.raw };
    return stopEarly(run, stage, message, { ...found, ...fields, ...servicesOf(run) });
  }
  const { change, wanted } = planned.value;
  const fields = { ...wanted.found, ...change.diff, ...servicesOf(run) };
  if (change.kind === 'dry-run') return run.report.done('dry-run', fields);
  if (change.kind === 'joined') return leftToOther(run, fields, claimedBy(change.by, change.doing));
  return takeOrRollBack(run, wanted, change, mode.force);
}

function wantedPool(answer: SourceAnswer, settings: SyncSettings): Wanted {
  const subnet = subnetFor(answer.address, answer.prefixLength, settings.policy);
  const prefix = `${subnet.toString()}/64`;
  return {
    prefix,
    subnet,
    entries: desiredEntries(subnet, settings.hosts),
    found: {
      source: answer.source,
      answer: answer.raw,
      ...(answer.evidence === undefined ? {} : { sources: answer.evidence }),
      prefix,
    },
  };
}

/**
 * A run that ends before the load balancer is asked anything: reported, and told on the pool as a Warning
 * Event, so `kubectl describe ipaddresspool` shows an outage of the source or the API too.
 */
async function stopEarly(
  run: Run,
  stage: FailureStage,
  message: string,
  fields: ReportFields,
): Promise<SyncResult> {
  const reason = stage === 'detect' ? 'PrefixNotDetected' : 'SyncFailed';
  await announce(run, run.target.pool.ref, 'Warning', reason, message);
  return run.report.failed(stage, message, fields);
}
