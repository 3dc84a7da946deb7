import { bundle, CLI_COMMAND } from '../scripts/bundle.js';
import { REPO_ROOT } from './binaries.js';
import { CLI_BUNDLED_ENV } from './shared-cluster.js';
import type { SyncResult } from '../lib/sync/result.js';
import { startProcess, type StartedProcess } from './run-process.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The result document (the last stdout line), when there is one. */
  result?: SyncResult;
}

export interface CliProcess extends Omit<StartedProcess, 'done'> {
  done: Promise<CliRun>;
}

export function lastResult(stdout: string): SyncResult | undefined {
  try {
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as SyncResult;
  } catch {
    return undefined;
  }
}

/**
 * Builds the CLI bundle unless this jest run's global setup did (the control plane's tiers build it
 * there). For a unit-tier suite that runs the CLI: in its beforeAll, once per file; the unit tier
 * has no global setup, so a lib/ that does not build fails only the suites that run the CLI.
 */
export async function ensureCliBundle(): Promise<void> {
  if (process.env[CLI_BUNDLED_ENV] === '1') return;
  await bundle('cli');
  process.env[CLI_BUNDLED_ENV] = '1';
}

/**
 * Starts the real CLI as its own process, as a user or a CronJob would, with only the given environment:
 * the command the container image and the npm package run (jest's global setup bundles it from the sources). `launcher`
 * runs it through another command (e.g. into a namespace) that ends by running its arguments.
 */
export function startCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  launcher: string[] = [],
): CliProcess {
  const command = [...launcher, process.execPath, CLI_COMMAND, ...args];
  const started = startProcess(command[0] ?? process.execPath, command.slice(1), {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
    timeoutMs,
  });
  const done = started.done.then(({ code, stdout, stderr }): CliRun => {
    const result = lastResult(stdout);
    return { code, stdout, stderr, ...(result === undefined ? {} : { result }) };
  });
  return { ...started, done };
}

export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  launcher: string[] = [],
): Promise<CliRun> {
  return startCli(args, env, timeoutMs, launcher).done;
}
