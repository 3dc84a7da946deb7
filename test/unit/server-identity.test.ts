// The certificate host check HTTPS sources use, on whatever Node runs the tests (20, 22, 24).
import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from '@jest/globals';
import { checkServerIdentity } from '../../lib/source/server-identity.js';

const cert = (subjectaltname: string) => ({ subjectaltname, subject: {} }) as unknown as PeerCertificate;
const SANS =
  'IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:2606:4700:4700:0:0:0:0:1111, DNS:localhost';

describe('checkServerIdentity', () => {
  it.each(['::1', '[::1]', '0:0:0:0:0:0:0:1', '2606:4700:4700::1111', '[2606:4700:4700::1111]', '127.0.0.1'])(
    'accepts %s, which the certificate lists',
    (host) => {
      expect(checkServerIdentity(host, cert(SANS))).toBeUndefined();
    },
  );

  it.each(['::2', '[2606:4700:4700::1001]', '127.0.0.2'])(
    'refuses %s, which it does not list, in Node’s words',
    (host) => {
      expect(checkServerIdentity(host, cert(SANS))?.message).toMatch(
        /^Hostname\/IP does not match certificate's altnames/,
      );
    },
  );

  it('leaves host names to Node', () => {
    expect(checkServerIdentity('localhost', cert(SANS))).toBeUndefined();
    expect(checkServerIdentity('example.net', cert(SANS))?.message).toMatch(
      /does not match certificate's altnames/,
    );
  });

  it('refuses an address when the certificate lists only names', () => {
    expect(checkServerIdentity('::1', cert('DNS:localhost'))?.message).toMatch(
      /does not match certificate's altnames/,
    );
  });
});
