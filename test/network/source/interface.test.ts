import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { parseIfInet6 } from '../../../lib/source/interface.js';
import { REPO_ROOT } from '../../../devcluster/binaries.js';
import { describeIf, type Condition } from '../../support/declared-skips.js';

const NS = `dyn6-${randomBytes(3).toString('hex')}`;
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const inNs = (...args: string[]) => execFileSync('ip', ['netns', 'exec', NS, ...args], { encoding: 'utf8' });

function namespacesWork(): Condition {
  try {
    ip('netns', 'add', NS);
    return true;
  } catch (error) {
    const stderr = ((error as { stderr?: Buffer }).stderr?.toString() ?? '').trim();
    return { unavailable: `ip netns add: ${stderr === '' ? String(error) : stderr}`.split('\n')[0] ?? '' };
  }
}

const detect = (ifname: string) =>
  JSON.parse(
    inNs(
      process.execPath,
      '--import',
      'tsx',
      path.join(REPO_ROOT, 'test/support/detect-in-netns.ts'),
      ifname,
    ),
  ) as {
    address?: string;
    raw?: string;
    alternatives?: string[];
    error?: string;
  };

describeIf(
  namespacesWork(),
  'no-network-namespaces',
  'interface source in a network namespace of its own',
  () => {
    beforeAll(async () => {
      ip('-n', NS, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1');
      ip('-n', NS, 'link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', 'wan1');
      for (const dev of ['lan0', 'lan1', 'wan0']) ip('-n', NS, 'link', 'set', dev, 'up'); // wan1 stays down: wan0 has no carrier
      inNs('sysctl', '-qw', 'net.ipv6.conf.lan0.use_tempaddr=2');
      // A stable SLAAC-style address whose prefix the kernel also makes privacy addresses from...
      ip('-n', NS, '-6', 'addr', 'add', '2a02:8071:1234:5678::10/64', 'dev', 'lan0', 'mngtmpaddr');
      // ...a second global prefix, a deprecated one, a ULA, and (no carrier) a tentative one.
      ip('-n', NS, '-6', 'addr', 'add', '2a02:8071:aaaa:1::10/64', 'dev', 'lan0');
      ip('-n', NS, '-6', 'addr', 'add', '2a02:8071:1234:9999::10/64', 'dev', 'lan0', 'preferred_lft', '0');
      ip('-n', NS, '-6', 'addr', 'add', 'fd00:1234::10/64', 'dev', 'lan0');
      ip('-n', NS, '-6', 'addr', 'add', '2a02:8071:7777::10/64', 'dev', 'wan0');
      // Duplicate address detection keeps new addresses tentative for a while, and the kernel makes
      // the temporary address asynchronously: wait as a host would.
      const settled = () => {
        const shown = ip('-n', NS, '-6', 'addr', 'show', 'dev', 'lan0');
        return shown.includes('temporary') && !shown.includes('tentative');
      };
      for (let i = 0; i < 100 && !settled(); i++) await new Promise((r) => setTimeout(r, 100));
    });
    afterAll(() => {
      ip('netns', 'del', NS);
    });

    it("reads the kernel's flags: temporary, deprecated and tentative addresses are there to skip", () => {
      const all = parseIfInet6(inNs('cat', '/proc/net/if_inet6'));
      const flags = (prefix: string) => all.find((a) => a.address.toString().startsWith(prefix))?.flags ?? -1;
      const temporary = all.find(
        (a) =>
          a.address.toString().startsWith('2a02:8071:1234:5678:') &&
          a.address.toString() !== '2a02:8071:1234:5678::10',
      );
      expect((temporary?.flags ?? 0) & 0x01).toBe(0x01);
      expect(flags('2a02:8071:1234:9999::') & 0x20).toBe(0x20);
      expect(flags('2a02:8071:7777::') & 0x40).toBe(0x40);
    });

    it('answers with the stable global address of each prefix in use, lowest first (the sync chooses with the pool)', () => {
      expect(detect('lan0')).toEqual({
        address: '2a02:8071:1234:5678::10',
        raw: '2a02:8071:1234:5678::10 on lan0; prefixes in use: 2a02:8071:1234:5678::/64, 2a02:8071:aaaa:1::/64',
        alternatives: ['2a02:8071:aaaa:1::10'],
      });
      expect(detect('').address).toBe('2a02:8071:1234:5678::10');
    });

    it('refuses an interface with only unusable addresses, or none', () => {
      const wan = detect('wan0').error ?? '';
      expect(wan).toMatch(/^source interface:wan0: no stable global IPv6 address on wan0: /);
      expect(wan).toContain('2a02:8071:7777::10 (tentative)');
      expect(detect('eth9').error).toBe('source interface:eth9: no interface eth9 with IPv6 addresses');
    });
  },
);
