// `serve`: the image as an HTTP function (Knative Service, OpenFaaS) with no platform build step:
// the HTTP contract, the schedulers' ticks, the platforms' probe paths and /metrics on $PORT.
import { createSyncMetrics } from '../../lib/metrics/sync-metrics.js';
import { createFunctionApp } from '../shared/function-app.js';
import { handleHttp, handleTick } from '../shared/http-contract.js';
import { ALWAYS_HEALTHY, listenOrReport } from '../shared/http-server.js';
import { defaultKubeConfig } from '../shared/kube-config-provider.js';
import { isScheduleTick } from '../shared/schedule-tick.js';
import { aborted, stopSignal } from './stop-signal.js';

export interface ServeOptions {
  port: number;
  flags: Readonly<Record<string, string | boolean | undefined>>;
  /** The settings' kubeconfig file, when one was given. */
  kubeconfig?: string;
  report: (line: string) => void;
}

/** Serves until SIGTERM/SIGINT, then lets the calls in progress finish; 2 for a bad configuration. */
export async function serve(env: NodeJS.ProcessEnv, options: ServeOptions): Promise<number> {
  const metrics = await createSyncMetrics({ processMetrics: true });
  const app = createFunctionApp(env, defaultKubeConfig(options.kubeconfig), {
    flags: options.flags,
    observe: (result) => {
      metrics.observe(result);
    },
  });
  // A function that cannot sync should not start: the platform shows the exit and its message.
  if (app.problems.length > 0) {
    for (const problem of app.problems) options.report(problem);
    return 2;
  }
  const stop = stopSignal();
  const server = await listenOrReport(options.port, options.report, app.log, {
    liveness: ALWAYS_HEALTHY,
    readiness: ALWAYS_HEALTHY,
    metrics: metrics.registry,
    call: (request) => (isScheduleTick(request) ? handleTick(app, 'schedule') : handleHttp(request, app)),
  });
  if (server === undefined) return 2;
  await aborted(stop);
  // Calls in progress finish (Knative drains before it stops a pod); new connections are refused.
  await new Promise((resolve) => server.close(resolve));
  return 0;
}
