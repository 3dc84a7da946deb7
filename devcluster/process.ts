import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';

/** A child process whose output goes to a log file and which we, and only we, stop. */
export class ManagedProcess {
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    readonly logPath: string,
  ) {
    const fd = openSync(logPath, 'a');
    this.child = spawn(command, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal === null ? null : -1);
        resolve(this.exitCode);
      });
      this.child.once('error', () => {
        this.exitCode = -1;
        resolve(-1);
      });
    });
    liveProcesses.add(this);
    void this.exited.then(() => liveProcesses.delete(this));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** The last lines of the log, for error messages when a component fails to start. */
  tail(lines = 30): string {
    try {
      return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  killNow(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

const liveProcesses = new Set<ManagedProcess>();
// If our process dies without a clean stop, take the control plane down with it.
process.once('exit', () => {
  for (const p of liveProcesses) p.killNow();
});
