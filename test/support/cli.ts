import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { TARGETS } from '../../scripts/bundle.js';
import { REPO_ROOT } from '../harness/binaries.js';
import type { SyncResult } from '../../lib/sync/result.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The result document (the last stdout line), when there is one. */
  result?: SyncResult;
}

export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  output(): { stdout: string; stderr: string };
  done: Promise<CliRun>;
}

function lastResult(stdout: string): SyncResult | undefined {
  try {
    return JSON.parse(stdout.trim().split('\n').pop() ?? '') as SyncResult;
  } catch {
    return undefined;
  }
}

/**
 * Starts the real CLI as its own process, as a user or a CronJob would, with only the given environment:
 * the bundle the container image runs (jest's global setup builds it from the sources). `launcher`
 * runs it through another command (e.g. into a namespace) that ends by running its arguments.
 */
export function startCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  launcher: string[] = [],
): CliProcess {
  const command = [...launcher, process.execPath, path.join(REPO_ROOT, TARGETS.cli.outfile), ...args];
  const child = spawn(command[0] ?? process.execPath, command.slice(1), {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
  });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const result = lastResult(stdout);
      resolve({ code, stdout, stderr, ...(result === undefined ? {} : { result }) });
    });
  });
  return { child, output: () => ({ stdout, stderr }), done };
}

export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  launcher: string[] = [],
): Promise<CliRun> {
  return startCli(args, env, timeoutMs, launcher).done;
}
