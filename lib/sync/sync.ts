// One sync run (cloudflare-ddns's updater): detect, plan, write with optimistic concurrency, make
// MetalLB take the new addresses, roll back if it does not come back.
import type { ReloadStrategy } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import { planPool, type Plan } from '../plan/plan.js';
import {
  LAST_PREFIX_ANNOTATION,
  LAST_SYNC_ANNOTATION,
  MANAGED_ANNOTATIONS,
  OWNED_ANNOTATION,
  ownershipAnnotation,
  readOwnership,
} from '../plan/registry.js';
import type { HostRange } from '../prefix/host-range.js';
import { desiredEntries, subnetFor, type PrefixPolicy } from '../prefix/subnet.js';
import { SourceError, type NodeDirectory, type PrefixSource, type SourceAnswer } from '../source/source.js';
import { ConflictError, type Pool, type PoolClient } from '../cluster/pool-client.js';
import type { MetalLBPods } from '../cluster/metallb-pods.js';
import type { PoolEvents } from '../cluster/pool-events.js';
import type { RequestCounter } from '../cluster/request-counter.js';
import { reloadMetalLB } from './reload.js';
import type { SyncResult } from './result.js';
import { errorText } from '../errors/error-text.js';

export interface SyncSettings {
  hosts: readonly HostRange[];
  /** The whole detection, every source and retry included, must finish within this. */
  detectDeadlineMs: number;
  policy: PrefixPolicy;
  reload: ReloadStrategy;
  reloadTimeoutMs: number;
  dryRun: boolean;
}

export interface SyncTarget {
  nodes: NodeDirectory;
  pool: PoolClient;
  events: PoolEvents;
  metallb: MetalLBPods;
  counter: RequestCounter;
}

export interface SyncRequest {
  /** What started this run: cli, schedule, http... (reported only). */
  trigger?: string;
  dryRun?: boolean;
  /** Reload MetalLB even if the pool is already right. */
  force?: boolean;
  /** A prefix pushed by the caller, used instead of asking the source. */
  answer?: SourceAnswer;
}

const MAX_CONFLICTS = 3;

interface Written {
  before: Pool;
  after: Pool;
  plan: Plan;
}

export async function syncOnce(
  settings: SyncSettings,
  source: PrefixSource,
  target: SyncTarget,
  log: Logger,
  request: SyncRequest = {},
): Promise<SyncResult> {
  const started = Date.now();
  const ref = target.pool.ref;
  const base = {
    pool: `${ref.namespace}/${ref.name}`,
    ...(request.trigger === undefined ? {} : { trigger: request.trigger }),
  };
  const finish = (fields: Omit<SyncResult, 'pool' | 'apiRequests' | 'durationMs'>): SyncResult => {
    const result = {
      ...base,
      ...fields,
      apiRequests: target.counter.count,
      durationMs: Date.now() - started,
    };
    if (result.status === 'failed' || result.status === 'rolled-back')
      log.error('sync failed', { ...result });
    else log.info(`sync ${result.status}`, { ...result });
    return result;
  };
  const dryRun = request.dryRun ?? settings.dryRun;
  const force = request.force ?? false;

  let answer: SourceAnswer;
  try {
    answer = request.answer ?? (await detectWithin(source, settings.detectDeadlineMs, target.nodes));
  } catch (error) {
    return finish({ status: 'failed', source: source.name, error: errorText(error) });
  }
  const subnet = subnetFor(answer.address, answer.prefixLength, settings.policy);
  const found = {
    source: answer.source,
    answer: answer.raw,
    ...(answer.evidence === undefined ? {} : { sources: answer.evidence }),
    prefix: `${subnet.toString()}/64`,
  };
  const desired = desiredEntries(subnet, settings.hosts);
  log.debug('prefix detected', { ...found, desired });

  let written: Written | undefined;
  for (let conflicts = 0; written === undefined;) {
    let pool: Pool;
    try {
      pool = await target.pool.read();
    } catch (error) {
      return finish({ status: 'failed', ...found, error: errorText(error) });
    }
    const ownership = readOwnership(pool.metadata.annotations);
    if (ownership instanceof Error)
      return finish({ status: 'failed', ...found, before: pool.spec.addresses, error: ownership.message });
    const planned = planPool({ current: pool.spec.addresses, ownership, desired, hosts: settings.hosts });
    if (!planned.ok)
      return finish({ status: 'failed', ...found, before: pool.spec.addresses, error: planned.error });
    const plan = planned.plan;
    const diff = {
      before: pool.spec.addresses,
      after: plan.addresses,
      added: plan.added,
      removed: plan.removed,
    };

    if (!plan.addressesChanged && !plan.recordChanged) {
      if (!force) {
        return finish({
          status: 'unchanged',
          ...found,
          ...diff,
          reload: { strategy: settings.reload, action: 'none', reason: 'pool already up to date' },
        });
      }
      if (dryRun) return finish({ status: 'dry-run', ...found, ...diff });
      const reload = await reloadMetalLB(target.metallb, settings, true);
      return finish({
        status: reload.failure === undefined ? 'unchanged' : 'failed',
        ...found,
        ...diff,
        reload: reload.report,
        ...(reload.failure === undefined ? {} : { error: reload.failure }),
      });
    }
    if (dryRun) return finish({ status: 'dry-run', ...found, ...diff });

    try {
      const after = await target.pool.write(pool.metadata.resourceVersion, plan.addresses, {
        [OWNED_ANNOTATION]: ownershipAnnotation(plan.owned),
        [LAST_PREFIX_ANNOTATION]: found.prefix,
        [LAST_SYNC_ANNOTATION]: new Date().toISOString(),
      });
      written = { before: pool, after, plan };
      log.info('pool written', { pool: base.pool, ...diff });
    } catch (error) {
      if (!(error instanceof ConflictError) || ++conflicts > MAX_CONFLICTS) {
        return finish({
          status: 'failed',
          ...found,
          ...diff,
          error:
            error instanceof ConflictError
              ? `${error.message} ${String(conflicts)} times; giving up`
              : errorText(error),
        });
      }
      log.warn('pool changed while we wrote it; re-reading', { pool: base.pool, conflicts });
    }
  }

  const { plan, before } = written;
  const diff = {
    before: before.spec.addresses,
    after: plan.addresses,
    added: plan.added,
    removed: plan.removed,
  };
  if (!plan.addressesChanged && !force) {
    return finish({
      status: 'updated',
      ...found,
      ...diff,
      reload: {
        strategy: settings.reload,
        action: 'none',
        reason: 'addresses unchanged; only the ownership record was written',
      },
    });
  }
  const event = async (type: 'Normal' | 'Warning', reason: string, message: string) => {
    const problem = await target.events.record(written.after, type, reason, message);
    if (problem !== undefined) log.warn('could not record an Event', { pool: base.pool, error: problem });
  };
  const reload = await reloadMetalLB(target.metallb, settings, force);
  if (reload.failure === undefined) {
    await event(
      'Normal',
      'AddressesUpdated',
      `prefix ${found.prefix} (from ${found.source}): added ${plan.added.join(', ') || 'nothing'}; removed ${plan.removed.join(', ') || 'nothing'}; MetalLB reload ${reload.report.action} (${reload.report.reason})`,
    );
    return finish({ status: 'updated', ...found, ...diff, reload: reload.report });
  }

  log.error('MetalLB did not take the new addresses; rolling the pool back', {
    pool: base.pool,
    error: reload.failure,
  });
  const rollbackError = await rollBack(target, written, settings.hosts);
  if (rollbackError !== undefined) {
    await event(
      'Warning',
      'RollbackFailed',
      `${reload.failure}; restoring ${before.spec.addresses.join(', ')} failed: ${rollbackError}`,
    );
    return finish({
      status: 'failed',
      ...found,
      ...diff,
      reload: reload.report,
      error: `${reload.failure}; rolling the pool back failed too: ${rollbackError}`,
    });
  }
  const again = await reloadMetalLB(target.metallb, settings, true);
  await event('Warning', 'RolledBack', `${reload.failure}; restored ${before.spec.addresses.join(', ')}`);
  return finish({
    status: 'rolled-back',
    ...found,
    ...diff,
    after: before.spec.addresses,
    reload: reload.report,
    error:
      `${reload.failure}; pool restored to its previous addresses` +
      (again.failure === undefined
        ? ' and MetalLB restarted'
        : `; restarting MetalLB again failed: ${again.failure}`),
  });
}

/** Runs the detection against an overall deadline; sources are told to stop when it passes. */
async function detectWithin(
  source: PrefixSource,
  deadlineMs: number,
  nodes: NodeDirectory,
): Promise<SourceAnswer> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(
        new SourceError(
          source.name,
          `no usable answer within the ${String(deadlineMs / 1000)} s detection deadline`,
        ),
      );
    }, deadlineMs);
  });
  try {
    return await Promise.race([source.detect({ signal: controller.signal, nodes }), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Puts back the addresses and annotations the pool had before our write. If someone edited the
 * pool since, only our entries are swapped back, keeping their edit.
 */
async function rollBack(
  target: SyncTarget,
  written: Written,
  hosts: readonly HostRange[],
): Promise<string | undefined> {
  const previous = written.before;
  const annotations = Object.fromEntries(
    MANAGED_ANNOTATIONS.map((k) => [k, previous.metadata.annotations?.[k] ?? null]),
  );
  let current = written.after;
  for (let attempt = 0; attempt <= MAX_CONFLICTS; attempt++) {
    const untouched =
      current.spec.addresses.length === written.plan.addresses.length &&
      current.spec.addresses.every((a, i) => a === written.plan.addresses[i]);
    let addresses = previous.spec.addresses;
    if (!untouched) {
      const replanned = planPool({
        current: current.spec.addresses,
        ownership: { kind: 'recorded', entries: written.plan.owned },
        desired: written.plan.previouslyOwned,
        hosts,
      });
      if (!replanned.ok) return replanned.error;
      addresses = replanned.plan.addresses;
    }
    try {
      await target.pool.write(current.metadata.resourceVersion, addresses, annotations);
      return undefined;
    } catch (error) {
      if (!(error instanceof ConflictError)) return errorText(error);
      try {
        current = await target.pool.read();
      } catch (readError) {
        return errorText(readError);
      }
    }
  }
  return `the pool kept changing; gave up after ${String(MAX_CONFLICTS + 1)} attempts`;
}
