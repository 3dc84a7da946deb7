import type { ReloadStrategy } from '../config/choices.js';
import { podImages, type MetalLBApi } from '../cluster/metallb-pods.js';
import { decideReload, metallbImage } from '../cluster/metallb-version.js';
import type { ReloadReport } from './result.js';
import { errorText } from '../errors/error-text.js';

export interface ReloadOutcome {
  report: ReloadReport;
  /** Set when MetalLB could not be made to take the addresses. */
  failure?: string;
}

/** Restarts MetalLB's pods when its version needs it (or when forced) and waits until they are Ready. */
export async function reloadMetalLB(
  pods: MetalLBApi,
  settings: { reload: ReloadStrategy; reloadTimeoutMs: number },
  force: boolean,
): Promise<ReloadOutcome> {
  const strategy = settings.reload;
  if (strategy === 'never' && !force) {
    return { report: { strategy, action: 'skipped', reason: 'reload strategy is never' } };
  }
  try {
    const current = await pods.list();
    const image = metallbImage(podImages(current.items));
    const decision = force ? { cycle: true, reason: 'reload forced' } : decideReload(strategy, image);
    const seen = image === undefined ? {} : { metallbImage: image };
    if (!decision.cycle) return { report: { strategy, action: 'skipped', reason: decision.reason, ...seen } };
    try {
      const cycled = await pods.cycle(current.items, settings.reloadTimeoutMs);
      return {
        report: {
          strategy,
          action: 'cycled',
          reason: decision.reason,
          ...seen,
          deletedPods: cycled.deleted,
          readyPods: cycled.replacements,
        },
      };
    } catch (error) {
      const failure = errorText(error);
      return { report: { strategy, action: 'failed', reason: decision.reason, ...seen }, failure };
    }
  } catch (error) {
    const failure = errorText(error);
    return { report: { strategy, action: 'failed', reason: failure }, failure };
  }
}
