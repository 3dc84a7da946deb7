// Certificate host checks for HTTPS sources. Node 22.2x's tls.checkServerIdentity refuses every IPv6
// address, even one the certificate lists ("Host: ::1 is not in the cert's altnames: IP
// Address:0:0:0:0:0:0:0:1"), which breaks HTTPS sources at IPv6 literals such as cloudflare-trace's
// default https://[2606:4700:4700::1111]/. Addresses are compared here as addresses; every other
// case, and every refusal's wording, stays Node's.
import { checkServerIdentity as nodeCheck, type PeerCertificate } from 'node:tls';
import ipaddr from 'ipaddr.js';

const IP_ENTRY = 'IP Address:';

export function checkServerIdentity(host: string, cert: PeerCertificate): Error | undefined {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (!ipaddr.isValid(bare)) return nodeCheck(host, cert);
  const wanted = ipaddr.process(bare).toNormalizedString();
  const listed = (cert.subjectaltname ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith(IP_ENTRY))
    .map((entry) => entry.slice(IP_ENTRY.length))
    .filter((ip) => ipaddr.isValid(ip))
    .map((ip) => ipaddr.process(ip).toNormalizedString());
  return listed.includes(wanted) ? undefined : nodeCheck(bare, cert);
}
