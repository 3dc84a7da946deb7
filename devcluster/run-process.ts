// The one way tests and the benchmark run a short-lived program and collect what it printed.
// Asynchronous on purpose: the servers the program talks to (stubs, the simulated kubelet) often
// live in this process and must keep answering while it runs.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface StartedProcess {
  child: ChildProcessWithoutNullStreams;
  /** What it printed so far. */
  output(): { stdout: string; stderr: string };
  done: Promise<ProcessRun>;
}

export interface ProcessOptions {
  /** The whole environment of the program (nothing is inherited). */
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** SIGKILL after this long. */
  timeoutMs?: number;
}

export function startProcess(command: string, args: string[], options: ProcessOptions): StartedProcess {
  const started = performance.now();
  const child = spawn(command, args, {
    env: options.env,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer =
    options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  const done = new Promise<ProcessRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, durationMs: performance.now() - started });
    });
  });
  return { child, output: () => ({ stdout, stderr }), done };
}

export function runProcess(command: string, args: string[], options: ProcessOptions): Promise<ProcessRun> {
  return startProcess(command, args, options).done;
}

/** Runs it and insists on exit 0, with its stderr in the error otherwise. */
export async function runToSuccess(
  command: string,
  args: string[],
  options: ProcessOptions,
): Promise<ProcessRun> {
  const run = await runProcess(command, args, options);
  if (run.code !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${String(run.code)}: ${run.stderr}`);
  return run;
}
