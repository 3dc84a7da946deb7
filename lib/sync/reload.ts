// Having MetalLB take the pool: first decide from its pods' version whether they must be restarted
// (before the write, so the write can record the restart it owes), then restart them and wait
// until the replacements are Ready.
import type { V1Pod } from '@kubernetes/client-node';
import type { ReloadStrategy } from '../config/choices.js';
import { podImages, UnobservedError } from '../cluster/metallb-pods.js';
import { decideReload, metallbImage } from '../cluster/metallb-version.js';
import type { ReloadReport } from './result.js';
import { errorText } from '../errors/error-text.js';
import type { MetalLBPods } from '../cluster/ports.js';

export interface ReloadSettings {
  reload: ReloadStrategy;
  reloadTimeoutMs: number;
}

/** What the reload will do: nothing (and why), restart these pods, or nothing known (pods unlistable). */
export type ReloadPlan =
  | { kind: 'skip'; report: ReloadReport }
  | { kind: 'cycle'; pods: V1Pod[]; report: ReloadReport }
  | { kind: 'unknown'; report: ReloadReport; failure: string };

export interface ReloadOutcome {
  report: ReloadReport;
  /** Set when MetalLB could not be made to take the addresses. */
  failure?: string;
  /** The pods were restarted, but their replacements could not be seen: nothing to roll back for. */
  unobserved?: boolean;
}

/** Whether this run must restart MetalLB: its strategy, its pods' version, or the caller's force. */
export async function planReload(
  pods: MetalLBPods,
  strategy: ReloadStrategy,
  force: boolean,
): Promise<ReloadPlan> {
  if (strategy === 'never' && !force) {
    return { kind: 'skip', report: { strategy, action: 'skipped', reason: 'reload strategy is never' } };
  }
  try {
    const current = await pods.list();
    const image = metallbImage(podImages(current.items));
    const decision = force ? { cycle: true, reason: 'reload forced' } : decideReload(strategy, image);
    const report = {
      strategy,
      reason: decision.reason,
      ...(image === undefined ? {} : { metallbImage: image }),
    };
    return decision.cycle
      ? { kind: 'cycle', pods: current.items, report: { ...report, action: 'cycled' } }
      : { kind: 'skip', report: { ...report, action: 'skipped' } };
  } catch (error) {
    const failure = errorText(error);
    return { kind: 'unknown', report: { strategy, action: 'failed', reason: failure }, failure };
  }
}

/** Carries a plan out: restarts the pods it names and waits for Ready replacements. */
export async function carryOut(
  pods: MetalLBPods,
  plan: ReloadPlan,
  timeoutMs: number,
): Promise<ReloadOutcome> {
  if (plan.kind === 'skip') return { report: plan.report };
  if (plan.kind === 'unknown') return { report: plan.report, failure: plan.failure };
  try {
    const cycled = await pods.cycle(plan.pods, timeoutMs);
    return { report: { ...plan.report, deletedPods: cycled.deleted, readyPods: cycled.replacements } };
  } catch (error) {
    return {
      report: { ...plan.report, action: 'failed' },
      failure: errorText(error),
      ...(error instanceof UnobservedError ? { unobserved: true } : {}),
    };
  }
}

/** Decides and restarts in one go (a forced reload, a rollback, a reload owed by an earlier run). */
export async function reloadMetalLB(
  pods: MetalLBPods,
  settings: ReloadSettings,
  force: boolean,
): Promise<ReloadOutcome> {
  return carryOut(pods, await planReload(pods, settings.reload, force), settings.reloadTimeoutMs);
}
