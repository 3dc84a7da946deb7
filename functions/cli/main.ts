#!/usr/bin/env node
// The command-line adapter (also what the CronJob image runs): metallb-dyn6 [sync|run] [options].
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../../lib/config/config.js';
import { helpText } from '../../lib/config/help.js';
import { OPTION_SPECS, settingsFrom } from '../../lib/config/options.js';
import { loadKubeConfig } from '../../lib/cluster/kube-config.js';
import { jsonLogger } from '../../lib/log/logger.js';
import { exitCodeOf, formatText, type SyncResult } from '../../lib/sync/result.js';
import { createSyncer, type Syncer } from '../../lib/sync/syncer.js';
import { errorText } from '../../lib/errors/error-text.js';

const PROGRAM = 'metallb-dyn6';

function print(config: Config, result: SyncResult): void {
  process.stdout.write(`${config.output === 'text' ? formatText(result) : JSON.stringify(result)}\n`);
}

/**
 * `run`: sync every interval. A signal stops it at once, in the middle of a run too: requests are
 * cancelled, and a restart MetalLB is owed stays recorded in the pool for the next run.
 */
async function runLoop(config: Config, syncer: Syncer): Promise<number> {
  const stopped = new AbortController();
  // A function, not the flag itself: the signal arrives while we await.
  const stopping = () => stopped.signal.aborted;
  let wake: (() => void) | undefined;
  const stop = (signal: NodeJS.Signals) => {
    stopped.abort(new Error(`stopped by ${signal}`));
    wake?.();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  while (!stopping()) {
    print(config, await syncer.sync({ trigger: 'interval' }, stopped.signal));
    if (stopping()) break;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, config.intervalMs);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  return 0;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        // Per invocation, never configured: a CronJob that forced every tick would restart MetalLB each time.
        force: { type: 'boolean' },
        ...Object.fromEntries(
          Object.values(OPTION_SPECS).map((s) => [
            s.flag,
            { type: s.boolean === true ? 'boolean' : 'string' } as const,
          ]),
        ),
      },
    });
  } catch (error) {
    process.stderr.write(`${PROGRAM}: ${errorText(error)} (see --help)\n`);
    return 2;
  }
  if (parsed.values['help'] === true) {
    process.stdout.write(`${helpText(PROGRAM)}\n`);
    return 0;
  }
  const [command = 'sync', ...extra] = parsed.positionals;
  const problems: string[] = [];
  if (command !== 'sync' && command !== 'run') problems.push(`unknown command "${command}" (sync or run)`);
  if (extra.length > 0) problems.push(`unexpected arguments: ${extra.join(' ')}`);
  const force = parsed.values['force'] === true;
  if (force && command !== 'sync') problems.push('--force is for one sync, not for run');
  const loaded = loadConfig(settingsFrom(env, parsed.values));
  if (!loaded.ok) problems.push(...loaded.error);
  if (problems.length > 0 || !loaded.ok) {
    for (const p of problems) process.stderr.write(`${PROGRAM}: ${p}\n`);
    return 2;
  }
  const config = loaded.value;
  let kc;
  try {
    kc = loadKubeConfig(config.kubeconfig);
  } catch (error) {
    process.stderr.write(`${PROGRAM}: ${errorText(error)}\n`);
    return 2;
  }
  const syncer = createSyncer(config, kc, jsonLogger(config.logLevel));
  if (command === 'run') return runLoop(config, syncer);
  // The process's own start: processes launched together count as one burst however slowly each starts.
  const startedAt = new Date(performance.timeOrigin);
  const result = await syncer.sync({ trigger: 'cli', startedAt, ...(force ? { force } : {}) });
  print(config, result);
  return exitCodeOf(result);
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${PROGRAM}: internal error: ${errorText(error)}\n`);
    process.exitCode = 1;
  },
);
