import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { dnsSource } from '../../../lib/source/dns.js';
import { parseSource } from '../../../lib/source/parse-source.js';
import { REPO_ROOT } from '../../../devcluster/binaries.js';
import { dnsmasqAvailable, startDnsmasq, type DnsServer } from '../../support/dnsmasq.js';

const SETTINGS = { timeoutMs: 500, retries: 1, delegatedLength: 64 };

describe('dns: source against a real DNS server (dnsmasq) on 127.0.0.1', () => {
  let dns: DnsServer;
  beforeAll(async () => {
    if (!dnsmasqAvailable())
      throw new Error('dnsmasq is not installed: scripts/provision-test-tools.sh installs dnsmasq-base');
    const logs = path.join(REPO_ROOT, '.run', 'logs');
    mkdirSync(logs, { recursive: true });
    dns = await startDnsmasq(
      {
        'router.home.example': ['2a02:8071:1234:5678::1'],
        'twice.home.example': ['2a02:8071:1234:5678::1', '2a02:8071:1234:5678::2'],
        'split.home.example': ['2a02:8071:1234:5678::1', '2a02:8071:9999:5678::1'],
        'v4only.home.example': ['192.0.2.1'],
        'ula.home.example': ['fd00:1234::1'],
      },
      path.join(logs, `dnsmasq-${String(process.pid)}.log`),
    );
  });
  afterAll(async () => {
    await dns.stop();
  });

  const detect = (name: string) => dnsSource(name, dns.address, SETTINGS).detect({});

  it('reads the AAAA record', async () => {
    const answer = await detect('router.home.example');
    expect([answer.source, answer.address.toString()]).toEqual([
      `dns:router.home.example@${dns.address}`,
      '2a02:8071:1234:5678::1',
    ]);
    expect((await detect('twice.home.example')).address.toString()).toMatch(/^2a02:8071:1234:5678::[12]$/);
  });

  it.each([
    ['v4only.home.example', /v4only\.home\.example has no AAAA record/],
    ['missing.home.example', /missing\.home\.example does not exist \(NXDOMAIN\)/],
    ['host.broken.example', /host\.broken\.example could not be resolved: the server answered SERVFAIL/],
    ['ula.home.example', /"fd00:1234::1" is not a global unicast address: unique local/],
    ['split.home.example', /addresses disagree on the \/64 prefix/],
  ])('refuses %s with a clear message', async (name, message) => {
    await expect(detect(name)).rejects.toThrow(message);
  });

  it('parses dns: specs with and without a server', () => {
    const settings = { myIpUrl: 'https://example.org', ...SETTINGS };
    expect(parseSource('dns:router.home.example@127.0.0.1:5353', settings)).toMatchObject({
      ok: true,
      value: { name: 'dns:router.home.example@127.0.0.1:5353' },
    });
    expect(parseSource('dns:router.home.example@[2001:db8::53]:53', settings).ok).toBe(true);
    expect(parseSource('dns:router.home.example', settings).ok).toBe(true);
    expect(parseSource('dns:bad_name!', settings)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/expected dns:<host name>/),
    });
    expect(parseSource('dns:router.home.example@nowhere', settings)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/not a DNS server address/),
    });
  });
});
