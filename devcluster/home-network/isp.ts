// The ISP: a DHCPv6 server (Debian's isc-dhcp-server, `dhcpd -6`) delegating one /56 at a time with
// short lifetimes, routing it to the customer's router while it is delegated, and a public-IP echo
// service out on "the internet" that answers with the caller's address, as api6.my-ip.io does.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ManagedProcess } from '../process.js';
import type { Netns } from './netns.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const DHCPD = '/usr/sbin/dhcpd';

/** The ISP's side of the customer link, the router's side, and a host on the internet. */
export const ISP_LINK = { isp: '2001:db8:ffff::1', router: '2001:db8:ffff::2' } as const;
export const INTERNET_HOST = '2001:db8:eeee::1';
/** Where the echo service answers, for `--my-ip-url`. */
export const ECHO_URL = `http://[${INTERNET_HOST}]/ip.json`;

/**
 * dhcpd's configuration: `prefix` is the only /56 it can delegate. The server DUID is fixed so
 * that a restarted server is the same server to the router. Lifetimes (valid 60 s, preferred 40 s,
 * renew at 20 s) are short enough for a renumbering or an outage to play out within a test, and
 * long enough to ride out a short outage. `on commit` (dhcpd installs no routes) routes the /56.
 */
function dhcpdConf(dir: string, prefix: string): string {
  // On commit, dhcpd's `option dhcp6.ia-pd` is the IA_PD the router sent: its IAPREFIX (the first
  // sub-option, as dhclient sends it) carries the length at byte 24 and the prefix at 25..40. On
  // release and expiry no option is in scope, and an empty argument fails execute().
  const iaPrefix =
    'pick-first-value(binary-to-ascii(16, 16, ":", substring(option dhcp6.ia-pd, 25, 16)), "-"), ' +
    'pick-first-value(binary-to-ascii(10, 8, "", substring(option dhcp6.ia-pd, 24, 1)), "-")';
  const route = (event: string) =>
    `on ${event} { execute("${path.join(HERE, 'isp-route.sh')}", "${dir}", "${event}", ${iaPrefix}); }`;
  const start = prefix.replace(/\/56$/, '');
  return [
    'server-duid LL ethernet 02:00:00:00:01:01;',
    'default-lease-time 60;',
    'max-lease-time 60;',
    'preferred-lifetime 40;',
    'dhcpv6-set-tee-times true;',
    // The router takes the first Advertise instead of waiting a second for more.
    'option dhcp6.preference 255;',
    `subnet6 ${ISP_LINK.isp.replace(/::1$/, '::')}/64 { prefix6 ${start} ${start} /56; }`,
    route('commit'),
    route('release'),
    route('expiry'),
    '',
  ].join('\n');
}

export class Isp {
  private dhcpd: ManagedProcess | undefined;

  constructor(
    readonly ns: Netns,
    private readonly dir: string,
  ) {}

  setup(): void {
    this.ns.sysctl('net.ipv6.conf.all.forwarding=1');
    this.ns.sysctl('net.ipv6.conf.isp0.accept_dad=0');
    this.ns.ip('addr', 'add', `${ISP_LINK.isp}/64`, 'dev', 'isp0', 'nodad');
    this.ns.ip('addr', 'add', `${INTERNET_HOST}/128`, 'dev', 'lo');
    writeFileSync(path.join(this.dir, 'router-address'), `${ISP_LINK.router}\n`);
    this.ns.spawn(
      'echo service',
      process.execPath,
      [path.join(HERE, 'http-responder.mjs'), 'echo', '80'],
      this.log('echo'),
    );
  }

  /**
   * (Re)starts dhcpd delegating `prefix`. `keepBindings` keeps what it delegated before (an outage
   * or a restart); otherwise the leases are gone and the old delegation with them (a renumbering).
   */
  async serve(prefix: string, keepBindings: boolean): Promise<void> {
    await this.stop();
    const leases = path.join(this.dir, 'dhcpd.leases');
    if (!keepBindings) rmSync(leases, { force: true });
    if (!existsSync(leases)) writeFileSync(leases, '');
    const conf = path.join(this.dir, 'dhcpd.conf');
    writeFileSync(conf, dhcpdConf(this.dir, prefix));
    const pidFile = path.join(this.dir, 'dhcpd.pid');
    this.dhcpd = this.ns.spawn(
      'dhcpd',
      DHCPD,
      ['-6', '-d', '-cf', conf, '-lf', leases, '-pf', pidFile, 'isp0'],
      this.log('dhcpd'),
    );
    // Routes of prefixes no longer in the leases go now, not at the next commit.
    this.ns.exec(path.join(HERE, 'isp-route.sh'), this.dir, 'sync');
    for (let waited = 0; !existsSync(pidFile) || readFileSync(pidFile, 'utf8') === ''; waited += 50) {
      if (!this.dhcpd.running || waited > 10_000)
        throw new Error(`dhcpd did not start: ${this.dhcpd.tail()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The ISP's DHCPv6 service is down (its routes stay, as they would in a real outage). */
  async stop(): Promise<void> {
    await this.dhcpd?.stop(2000);
    this.dhcpd = undefined;
    rmSync(path.join(this.dir, 'dhcpd.pid'), { force: true });
  }

  private log(name: string): string {
    return path.join(this.dir, `${name}.log`);
  }
}
