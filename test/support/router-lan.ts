// A home LAN in two network namespaces: a router announcing prefixes with radvd (Debian's), and a
// node whose kernel forms SLAAC addresses (stable and temporary) from them. The interface source
// reads the node's addresses through /proc/<pid>/net/if_inet6 of a process inside its namespace.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseIfInet6, type InterfaceAddress } from '../../lib/source/interface.js';
import { RADVD } from '../../devcluster/binaries.js';

/** One prefix in the router's advertisements; lifetimes in seconds. */
export interface Announced {
  prefix: string;
  preferred?: number;
  valid?: number;
}

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

export class RouterLan {
  readonly router = `rtr-${randomBytes(3).toString('hex')}`;
  readonly node = `node-${randomBytes(3).toString('hex')}`;
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'radvd-'));
  private radvd: ChildProcess | undefined;
  private holder: ChildProcess | undefined;

  /** The node's address table, as the interface source reads it. */
  get ifInet6(): string {
    return `/proc/${String(this.holder?.pid)}/net/if_inet6`;
  }

  start(announced: readonly Announced[]): void {
    ip('netns', 'add', this.router);
    ip('netns', 'add', this.node);
    ip(
      'link',
      'add',
      'rtr0',
      'netns',
      this.router,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      this.node,
    );
    ip('netns', 'exec', this.router, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
    // A host as SLAAC leaves it: addresses from every announced prefix, privacy addresses beside.
    ip('netns', 'exec', this.node, 'sysctl', '-qw', 'net.ipv6.conf.eth0.accept_ra=2');
    ip('netns', 'exec', this.node, 'sysctl', '-qw', 'net.ipv6.conf.eth0.use_tempaddr=2');
    for (const [ns, dev] of [
      [this.router, 'rtr0'],
      [this.node, 'eth0'],
    ] as const) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
    this.holder = spawn('ip', ['netns', 'exec', this.node, 'sleep', '3600'], { stdio: 'ignore' });
    this.writeConfig(announced);
    this.radvd = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.router,
        RADVD,
        '-C',
        this.config,
        '-n',
        '-p',
        path.join(this.dir, 'pid'),
        '-m',
        'stderr',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  }

  /** Changes what the router announces: a prefix left out is simply no longer announced. */
  announce(announced: readonly Announced[]): void {
    this.writeConfig(announced);
    const pid = readFileSync(path.join(this.dir, 'pid'), 'utf8').trim();
    process.kill(Number(pid), 'SIGHUP');
  }

  addresses(): InterfaceAddress[] {
    return parseIfInet6(readFileSync(this.ifInet6, 'utf8')).filter((a) => a.ifname === 'eth0');
  }

  /** The node's stable global addresses with their remaining preferred lifetimes, from netlink (ip -j). */
  preferredLifetimes(): { address: string; preferred: number }[] {
    const shown = JSON.parse(ip('-n', this.node, '-j', '-6', 'addr', 'show', 'dev', 'eth0')) as {
      addr_info: { local: string; scope: string; temporary?: boolean; preferred_life_time: number }[];
    }[];
    return shown
      .flatMap((link) => link.addr_info)
      .filter((a) => a.scope === 'global' && a.temporary !== true)
      .map((a) => ({ address: a.local, preferred: a.preferred_life_time }));
  }

  /** Waits until the node's addresses satisfy `ready` (SLAAC, DAD and lifetimes take seconds). */
  async until(
    what: string,
    ready: (addresses: InterfaceAddress[]) => boolean,
    timeoutMs = 30_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready(this.addresses())) {
      if (Date.now() > deadline) {
        const shown = this.addresses().map((a) => `${a.address.toString()} flags ${a.flags.toString(16)}`);
        throw new Error(`timed out waiting for ${what}; the node has ${shown.join(', ')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  stop(): void {
    this.radvd?.kill();
    this.holder?.kill();
    for (const ns of [this.router, this.node]) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // Never created: start failed before it.
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private get config(): string {
    return path.join(this.dir, 'radvd.conf');
  }

  private writeConfig(announced: readonly Announced[]): void {
    const prefixes = announced.map(
      (a) =>
        `  prefix ${a.prefix} { AdvOnLink on; AdvAutonomous on; AdvPreferredLifetime ${String(a.preferred ?? 14400)}; AdvValidLifetime ${String(a.valid ?? 86400)}; };`,
    );
    const config = [
      'interface rtr0 {',
      '  AdvSendAdvert on;',
      '  MinRtrAdvInterval 3;',
      '  MaxRtrAdvInterval 4;',
      ...prefixes,
      '};',
      '',
    ];
    writeFileSync(this.config, config.join('\n'), { mode: 0o644 });
  }
}

/** True when the node has a stable (not temporary, not tentative) address in the /64 `subnet`. */
export const hasStable =
  (subnet: string, deprecated = false) =>
  (addresses: InterfaceAddress[]) =>
    addresses.some(
      (a) =>
        a.address.toString().startsWith(`${subnet}:`) &&
        (a.flags & 0x01) === 0 &&
        (a.flags & 0x40) === 0 &&
        ((a.flags & 0x20) !== 0) === deprecated,
    );
