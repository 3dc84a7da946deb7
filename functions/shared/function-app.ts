// What every function adapter does once per process: read the configuration from the
// environment, find the HTTP token, and build the syncer; invocations reuse all of it.
import { poolNameFor } from '../../lib/cluster/backends.js';
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadConfig, type Config } from '../../lib/config/config.js';
import { settingsFrom } from '../../lib/config/options.js';
import { jsonLogger, type Logger } from '../../lib/log/logger.js';
import type { SyncRequest } from '../../lib/sync/sync-once.js';
import { createSyncer } from '../../lib/sync/syncer.js';
import type { SyncResult } from '../../lib/sync/result.js';
import { failedResult } from '../../lib/sync/run-report.js';
import { errorText } from '../../lib/errors/error-text.js';
import type { HttpApp } from './http-contract.js';
import type { KubeConfigProvider } from './kube-config-provider.js';
import { sharingRuns } from './shared-runs.js';
import { TickGate } from './tick-gate.js';

export const TOKEN_ENV = 'METALLB_DYN6_HTTP_TOKEN';
export const TOKEN_FILE_ENV = 'METALLB_DYN6_HTTP_TOKEN_FILE';
const MIN_TOKEN_LENGTH = 16;

export interface FunctionApp extends HttpApp {
  /** Every configuration problem; a non-empty list makes every invocation fail with it. */
  problems: string[];
  pool: string;
  log: Logger;
}

/** The bearer token from a mounted secret file or the environment; never logged. */
export function readHttpToken(env: NodeJS.ProcessEnv): { token?: string; problem?: string } {
  const file = env[TOKEN_FILE_ENV];
  let token = env[TOKEN_ENV];
  if (file !== undefined && file !== '') {
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (error) {
      return {
        problem: `${TOKEN_FILE_ENV}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      };
    }
  }
  if (token === undefined || token === '')
    return { problem: `no HTTP token: set ${TOKEN_FILE_ENV} or ${TOKEN_ENV}; HTTP calls are refused` };
  if (token.length < MIN_TOKEN_LENGTH)
    return { problem: `the HTTP token must be at least ${String(MIN_TOKEN_LENGTH)} characters` };
  return { token };
}

export interface FunctionAppOptions {
  /** Command-line flags (the image's `serve`), winning over the environment as in the CLI. */
  flags?: Readonly<Record<string, string | boolean | undefined>>;
  /** Told each run's result once, however many calls joined it (metrics). */
  observe?: (result: SyncResult) => void;
}

/**
 * Builds the app; `kubeConfig` is asked once per sync so platforms with expiring credentials (EKS)
 * can hand out a fresh one, and others return the same object every time.
 */
export function createFunctionApp(
  env: NodeJS.ProcessEnv,
  kubeConfig: KubeConfigProvider,
  options: FunctionAppOptions = {},
): FunctionApp {
  const loaded = loadConfig(settingsFrom(env, options.flags ?? {}));
  const log = jsonLogger(loaded.ok ? loaded.value.logLevel : 'info');
  const { token, problem } = readHttpToken(env);
  if (problem !== undefined) log.warn(problem);
  const problems = loaded.ok ? [] : loaded.error;
  for (const p of problems) log.error('bad configuration', { problem: p });
  const pool = loaded.ok ? poolNameFor(loaded.value.backend, loaded.value) : '?';
  let cached: { kc: KubeConfig; syncer: ReturnType<typeof createSyncer> } | undefined;
  return {
    problems,
    token,
    pool,
    log,
    ticks: new TickGate(loaded.ok ? loaded.value.minTickIntervalMs : 0),
    sync: sharingRuns(async (request) => {
      const result = await syncWith(request);
      options.observe?.(result);
      return result;
    }),
  };

  async function syncWith(request: SyncRequest): Promise<SyncResult> {
    const unusable = (error: string) =>
      failedResult({ pool, trigger: request.trigger }, { stage: 'config', error });
    if (!loaded.ok) return unusable(loaded.error.join('; '));
    const config: Config = loaded.value;
    let kc: KubeConfig;
    try {
      kc = await kubeConfig();
    } catch (error) {
      return unusable(errorText(error));
    }
    if (cached?.kc !== kc) cached = { kc, syncer: createSyncer(config, kc, log) };
    return cached.syncer.sync(request);
  }
}
