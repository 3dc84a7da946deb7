// One host of the home network: a Linux network namespace with its own interfaces, routes, neighbour
// table and netfilter rules, and the processes that run in it. Names carry the owning process's pid
// so that a later run can tell a crashed run's leftovers from a live run's namespaces.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { ManagedProcess } from '../process.js';

const NETNS_DIR = '/run/netns';
const PREFIX = 'md6';

const run = (command: string, args: string[]): string =>
  execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes namespaces that runs which are gone left behind (a crash, a killed jest worker). */
export function removeStaleNamespaces(): void {
  let names: string[];
  try {
    names = readdirSync(NETNS_DIR);
  } catch {
    return;
  }
  for (const name of names) {
    const owner = new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1];
    if (owner !== undefined && !alive(Number(owner))) new Netns(name).delete();
  }
}

let counter = 0;

export class Netns {
  private readonly processes: ManagedProcess[] = [];

  constructor(readonly name: string) {}

  /** A new namespace named for this process and `role`, with loopback up. */
  static create(role: string): Netns {
    const ns = new Netns(`${PREFIX}${String(process.pid)}-${String(counter++)}-${role}`);
    run('ip', ['netns', 'add', ns.name]);
    ns.ip('link', 'set', 'lo', 'up');
    return ns;
  }

  /** `ip` run inside the namespace. */
  ip(...args: string[]): string {
    return run('ip', ['-n', this.name, ...args]);
  }

  /** `ip -j` inside the namespace, parsed. */
  ipJson(...args: string[]): unknown {
    return JSON.parse(this.ip('-j', ...args));
  }

  sysctl(setting: string): void {
    this.exec('sysctl', '-qw', setting);
  }

  /** Runs a command inside the namespace and returns its output; throws with its stderr on failure. */
  exec(command: string, ...args: string[]): string {
    return run('ip', ['netns', 'exec', this.name, command, ...args]);
  }

  /** What runs a command inside the namespace: prepend it to the command line. */
  get launcher(): string[] {
    return ['ip', 'netns', 'exec', this.name];
  }

  /** Starts a long-running process inside the namespace; it is stopped with the namespace. */
  spawn(name: string, command: string, args: string[], logPath: string): ManagedProcess {
    const proc = new ManagedProcess(name, 'ip', ['netns', 'exec', this.name, command, ...args], logPath);
    this.processes.push(proc);
    return proc;
  }

  /** The neighbour table's entry for `address` on `dev`: its state (e.g. "REACHABLE", "FAILED") and MAC. */
  neighbour(dev: string, address: string): { state: string; lladdr?: string } | undefined {
    const entries = this.ipJson('-6', 'neigh', 'show', 'dev', dev) as {
      dst: string;
      lladdr?: string;
      state?: string[];
    }[];
    const entry = entries.find((e) => e.dst === address);
    if (entry === undefined) return undefined;
    return {
      state: entry.state?.join(',') ?? '',
      ...(entry.lladdr === undefined ? {} : { lladdr: entry.lladdr }),
    };
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop(2000)));
    this.processes.length = 0;
  }

  delete(): void {
    try {
      run('ip', ['netns', 'del', this.name]);
    } catch {
      // Already gone.
    }
  }
}

/** A veth pair with one end in each namespace, both up. */
export function connect(a: Netns, aDev: string, b: Netns, bDev: string): void {
  // Created in `a` and moved, since the peer's name may already exist in the root namespace.
  a.ip('link', 'add', aDev, 'type', 'veth', 'peer', 'name', bDev, 'netns', b.name);
  a.ip('link', 'set', aDev, 'up');
  b.ip('link', 'set', bDev, 'up');
}
