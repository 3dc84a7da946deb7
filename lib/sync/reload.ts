// Having the load balancer take the pool in one go, when no plan was made before the write: a
// forced reload, a rollback, a reload owed by an earlier run.
import type { ReloadStrategy } from '../config/choices.js';
import type { LoadBalancer, ReloadOutcome } from '../cluster/ports.js';

export interface ReloadSettings {
  reload: ReloadStrategy;
  reloadTimeoutMs: number;
}

export async function reloadNow(
  lb: LoadBalancer,
  settings: ReloadSettings,
  force: boolean,
): Promise<ReloadOutcome> {
  return lb.carryOut(await lb.planReload(settings.reload, force), settings.reloadTimeoutMs);
}
