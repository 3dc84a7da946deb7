// The home router: a DHCPv6 prefix-delegation client (Debian's isc-dhcp-client, `dhclient -6 -P`)
// on the WAN whose hook (router-hook.sh) puts the first /64 of the delegation on the LAN bridge,
// reloads radvd, deprecates a lost prefix (or, like many home routers, does not), and in push mode
// POSTs the new prefix to metallb-dyn6.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RADVD } from '../binaries.js';
import type { ManagedProcess } from '../process.js';
import { ISP_LINK } from './isp.js';
import type { Netns } from './netns.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const DHCLIENT = '/usr/sbin/dhclient';
const HOOK = path.join(HERE, 'router-hook.sh');

/** The LAN's fixed ULA /64 and the router's address on it. */
export const LAN_ULA = { prefix: 'fd00:db8:1:1::/64', router: 'fd00:db8:1:1::1' } as const;

export interface RouterOptions {
  /** Announce a lost prefix with preferred lifetime 0 (RFC 7084); false: just stop announcing it. */
  deprecate: boolean;
  /** Push mode: the function's URL and the file holding its bearer token. */
  push?: { url: string; tokenFile: string };
}

/** One line of the hook's log: what dhclient reported, or what the hook did. */
export interface HookEvent {
  at: number;
  event: string;
  prefix: string;
  detail?: string;
}

export class HomeRouter {
  private radvd: ManagedProcess | undefined;
  private dhclient: ManagedProcess | undefined;
  private options: RouterOptions = { deprecate: true };

  constructor(
    readonly ns: Netns,
    private readonly dir: string,
  ) {}

  /** WAN toward the ISP (static), the LAN bridge `br0` whose ports are added with `lanPort`. */
  async setup(): Promise<void> {
    for (const setting of [
      'net.ipv6.conf.all.forwarding=1',
      'net.ipv6.conf.all.accept_dad=0',
      'net.ipv6.conf.default.accept_dad=0',
      'net.ipv6.conf.wan0.accept_dad=0',
    ])
      this.ns.sysctl(setting);
    this.ns.ip('addr', 'add', `${ISP_LINK.router}/64`, 'dev', 'wan0', 'nodad');
    this.ns.ip('-6', 'route', 'add', 'default', 'via', ISP_LINK.isp, 'dev', 'wan0');
    this.ns.ip('link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0', 'forward_delay', '0');
    this.ns.sysctl('net.ipv6.conf.br0.accept_dad=0');
    this.ns.ip('link', 'set', 'br0', 'up');
    this.ns.ip('addr', 'add', `${LAN_ULA.router}/64`, 'dev', 'br0', 'nodad');
    this.hook({ reason: 'START' });
    const pidFile = path.join(this.dir, 'radvd.pid');
    this.radvd = this.ns.spawn(
      'radvd',
      RADVD,
      ['-n', '-C', path.join(this.dir, 'radvd.conf'), '-p', pidFile, '-m', 'stderr'],
      path.join(this.dir, 'radvd.log'),
    );
    for (let waited = 0; !existsSync(pidFile); waited += 50) {
      if (!this.radvd.running || waited > 10_000)
        throw new Error(`radvd did not start: ${this.radvd.tail()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Attaches a LAN host's link (created in this namespace as `port`) to the bridge. */
  lanPort(port: string): void {
    this.ns.sysctl(`net.ipv6.conf.${port}.disable_ipv6=1`);
    this.ns.ip('link', 'set', port, 'master', 'br0');
  }

  configure(options: RouterOptions): void {
    this.options = options;
  }

  /** Starts asking the ISP for a delegation. A fresh lease file: dhclient 4.4 re-requests every prefix it remembers. */
  connect(): void {
    if (this.dhclient?.running === true) return;
    rmSync(this.leases, { force: true });
    this.dhclient = this.ns.spawn(
      'dhclient',
      DHCLIENT,
      ['-6', '-P', '-D', 'LL', '-d', ...this.common()],
      path.join(this.dir, 'dhclient.log'),
    );
  }

  /** Gives the delegation back and stops asking (the session drops: a reconnect or a renumbering follows). */
  async release(): Promise<void> {
    if (this.dhclient?.running !== true) return;
    await this.run(DHCLIENT, ['-6', '-P', '-D', 'LL', '-r', ...this.common()]);
    await this.dhclient.stop(2000);
    this.dhclient = undefined;
  }

  /** The hook's log so far. */
  events(): HookEvent[] {
    const file = path.join(this.dir, 'hook.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((line) => {
        const [at = '0', event = '', prefix = '', detail] = line.split(' ');
        return { at: Number(at), event, prefix, ...(detail === undefined ? {} : { detail }) };
      });
  }

  /** What the function answered the hook's last push (its result document), if it answered. */
  pushAnswer(): unknown {
    const file = path.join(this.dir, 'push-answer.json');
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as unknown) : undefined;
  }

  /** The delegation the LAN is on now, if any. */
  current(): string | undefined {
    const file = path.join(this.dir, 'state', 'current');
    return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
  }

  private get leases(): string {
    return path.join(this.dir, 'dhclient.leases');
  }

  /** What the hook is told, in dhclient's -e form. */
  private settings(): Record<string, string> {
    return {
      DIR: this.dir,
      LAN: 'br0',
      WAN: 'wan0',
      ISP_GW: ISP_LINK.isp,
      ULA: LAN_ULA.prefix,
      DEPRECATE: this.options.deprecate ? '1' : '0',
      PUSH_URL: this.options.push?.url ?? '',
      PUSH_TOKEN_FILE: this.options.push?.tokenFile ?? '',
    };
  }

  private common(): string[] {
    const conf = path.join(this.dir, 'dhclient.conf');
    if (!existsSync(conf)) writeFileSync(conf, '# prefix delegation only: nothing to configure\n');
    return [
      ...Object.entries(this.settings()).flatMap(([key, value]) => ['-e', `${key}=${value}`]),
      '-cf',
      conf,
      '-sf',
      HOOK,
      '-lf',
      this.leases,
      '-pf',
      path.join(this.dir, 'dhclient.pid'),
      'wan0',
    ];
  }

  private hook(env: Record<string, string>): void {
    this.ns.exec('env', ...Object.entries({ ...this.settings(), ...env }).map(([k, v]) => `${k}=${v}`), HOOK);
  }

  private run(command: string, args: string[]): Promise<void> {
    const [launch = 'ip', ...launchArgs] = this.ns.launcher;
    return new Promise((resolve, reject) => {
      execFile(launch, [...launchArgs, command, ...args], { timeout: 30_000 }, (error, _out, stderr) => {
        if (error === null) resolve();
        else reject(new Error(`${command} ${args.join(' ')}: ${stderr || error.message}`));
      });
    });
  }
}
