// MetalLB as the load balancer: its version, read from its pods' images, says whether it takes a
// changed pool by itself (>= 0.14.2) or must have its pods restarted, and which annotation pins a
// Service; a restart deletes the pods and waits until as many replacements are Ready.
import type { ReloadStrategy } from '../config/choices.js';
import { errorText } from '../errors/error-text.js';
import { DEPRECATED_PIN_ANNOTATION, PIN_ANNOTATION } from '../plan/host-parts.js';
import { podImages, UnobservedError } from './metallb-pods.js';
import { decideReload, metallbImage, pinAnnotationFor } from './metallb-version.js';
import type { LoadBalancer, MetalLBPods, Pinning, ReloadOutcome, ReloadPlan } from './ports.js';

/** MetalLB reads the current pin annotation first, then the one from before 0.14. */
export const metallbPinning = (writeWith: string): Pinning => ({
  reads: [PIN_ANNOTATION, DEPRECATED_PIN_ANNOTATION],
  writeWith,
});

export class MetalLB implements LoadBalancer {
  readonly name = 'MetalLB';

  constructor(private readonly pods: MetalLBPods) {}

  async planReload(strategy: ReloadStrategy, force: boolean): Promise<ReloadPlan> {
    if (strategy === 'never' && !force) {
      return { kind: 'skip', report: { strategy, action: 'skipped', reason: 'reload strategy is never' } };
    }
    try {
      const current = await this.pods.list();
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

  async carryOut(plan: ReloadPlan, timeoutMs: number): Promise<ReloadOutcome> {
    if (plan.kind === 'skip') return { report: plan.report };
    if (plan.kind === 'unknown') return { report: plan.report, failure: plan.failure };
    try {
      const cycled = await this.pods.cycle(plan.pods, timeoutMs);
      return { report: { ...plan.report, deletedPods: cycled.deleted, readyPods: cycled.replacements } };
    } catch (error) {
      return {
        report: { ...plan.report, action: 'failed' },
        failure: errorText(error),
        ...(error instanceof UnobservedError ? { unobserved: true } : {}),
      };
    }
  }

  /** The annotation the installed release reads; when its pods cannot be read, the old one every release reads. */
  async pinning(known?: ReloadPlan): Promise<Pinning> {
    const image = known?.report.metallbImage;
    if (image !== undefined) return metallbPinning(pinAnnotationFor(image));
    try {
      return metallbPinning(pinAnnotationFor(metallbImage(podImages((await this.pods.list()).items))));
    } catch {
      return metallbPinning(pinAnnotationFor(undefined));
    }
  }
}
