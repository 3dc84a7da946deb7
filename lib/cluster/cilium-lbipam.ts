// Cilium's LB-IPAM as the load balancer: its operator watches the pool and moves the Services
// itself (operator/pkg/lbipam), so nothing is ever restarted, and a Service is pinned with
// `lbipam.cilium.io/ips` (or its alias, or spec.loadBalancerIP: Cilium takes every one it finds).
import type { ReloadStrategy } from '../config/choices.js';
import { CILIUM_PIN_ALIAS, CILIUM_PIN_ANNOTATION } from '../plan/host-parts.js';
import type { LoadBalancer, Pinning, ReloadOutcome, ReloadPlan } from './ports.js';

const CILIUM_PINNING: Pinning = {
  reads: [CILIUM_PIN_ANNOTATION, CILIUM_PIN_ALIAS],
  writeWith: CILIUM_PIN_ANNOTATION,
};

export class CiliumLBIPAM implements LoadBalancer {
  readonly name = 'Cilium LB-IPAM';

  /** Forced or not: there is no process to restart, the operator takes the pool as it is written. */
  planReload(strategy: ReloadStrategy): Promise<ReloadPlan> {
    const reason = 'Cilium LB-IPAM takes pool changes by itself: nothing to restart';
    return Promise.resolve({ kind: 'skip', report: { strategy, action: 'skipped', reason } });
  }

  carryOut(plan: ReloadPlan): Promise<ReloadOutcome> {
    return Promise.resolve({ report: plan.report });
  }

  pinning(): Promise<Pinning> {
    return Promise.resolve(CILIUM_PINNING);
  }
}
