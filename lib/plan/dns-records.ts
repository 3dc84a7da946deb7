// NPTv6 mode with --nptv6-records dnsendpoint: instead of annotating Services (which may not be ours
// to touch), one external-dns DNSEndpoint per published Service, in its namespace, named for it and
// labelled as ours: an AAAA record of its public IPv6 addresses and an A record of its IPv4 ones for
// each hostname its external-dns hostname annotation names. Pure: the shell creates, patches and
// deletes. A DNSEndpoint not labelled as ours is never touched.
import type { LoadBalancerService } from './host-parts.js';
import { HOSTNAME_ANNOTATIONS } from './host-parts.js';
import { keyOf, targetsOf, wanted, type NotPublished, type PublishInput } from './published.js';

/** The label that says a DNSEndpoint is metallb-dyn6's, and the one naming the Service it is for. */
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'metallb-dyn6' } as const;
export const FOR_SERVICE_LABEL = 'metallb-dyn6/service';

export interface DnsRecord {
  dnsName: string;
  recordType: 'A' | 'AAAA';
  targets: string[];
}

/** A DNSEndpoint of ours, as far as metallb-dyn6 reads it. */
export interface OwnedRecords {
  namespace: string;
  name: string;
  resourceVersion: string;
  /** The Service it is for (its label). */
  service: string;
  endpoints: DnsRecord[];
}

export type RecordChange =
  | { kind: 'create'; namespace: string; name: string; service: string; endpoints: DnsRecord[] }
  | {
      kind: 'update';
      namespace: string;
      name: string;
      resourceVersion: string;
      service: string;
      endpoints: DnsRecord[];
      was: DnsRecord[];
    }
  | {
      kind: 'delete';
      namespace: string;
      name: string;
      resourceVersion: string;
      service: string;
      was: DnsRecord[];
    };

export interface RecordsPlan {
  changes: RecordChange[];
  notPublished: NotPublished[];
}

/** The DNSEndpoint's name for a Service (a Service name is at most 63 characters). */
export const recordsName = (service: string): string => `metallb-dyn6-${service}`;

/** Every address of a record set, for reports. */
export const targetsIn = (endpoints: readonly DnsRecord[]): string[] => [
  ...new Set(endpoints.flatMap((e) => e.targets)),
];

function recordsFor(hostnames: readonly string[], targets: readonly string[]): DnsRecord[] {
  const v6 = targets.filter((t) => t.includes(':'));
  const v4 = targets.filter((t) => !t.includes(':'));
  return hostnames.flatMap((dnsName) => [
    ...(v6.length > 0 ? [{ dnsName, recordType: 'AAAA' as const, targets: v6 }] : []),
    ...(v4.length > 0 ? [{ dnsName, recordType: 'A' as const, targets: v4 }] : []),
  ]);
}

function hostnamesOf(service: LoadBalancerService): string[] {
  const value = HOSTNAME_ANNOTATIONS.map((a) => service.annotations[a]).find((v) => v !== undefined) ?? '';
  return value
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
}

/** The records each Service should have, keyed by namespace/name, with what cannot be published. */
function wantedRecords(input: PublishInput): {
  records: Map<string, DnsRecord[]>;
  notPublished: NotPublished[];
} {
  const records = new Map<string, DnsRecord[]>();
  const notPublished: NotPublished[] = [];
  for (const service of input.services) {
    const found = wanted(service, input.mode) ? targetsOf(service, input) : undefined;
    if (found === undefined) continue;
    if ('reason' in found) {
      notPublished.push(found);
      continue;
    }
    const hostnames = hostnamesOf(service);
    if (hostnames.length === 0) {
      notPublished.push({
        service: keyOf(service),
        reason: `no hostname to publish under: annotate it ${HOSTNAME_ANNOTATIONS[0]}`,
      });
      continue;
    }
    records.set(keyOf(service), recordsFor(hostnames, found.targets));
  }
  return { records, notPublished };
}

const same = (a: readonly DnsRecord[], b: readonly DnsRecord[]) => JSON.stringify(a) === JSON.stringify(b);

/** What to create, update and delete so that our DNSEndpoints say what the Services' public addresses are. */
export function planRecords(input: PublishInput, owned: readonly OwnedRecords[]): RecordsPlan {
  const { records, notPublished } = wantedRecords(input);
  const changes: RecordChange[] = [];
  const existing = new Map(owned.map((o) => [o.service, o]));
  for (const [service, endpoints] of records) {
    const [namespace = '', name = ''] = service.split('/');
    const current = existing.get(service);
    if (current === undefined) {
      changes.push({ kind: 'create', namespace, name: recordsName(name), service, endpoints });
    } else if (!same(current.endpoints, endpoints)) {
      const { resourceVersion, name: object } = current;
      changes.push({
        kind: 'update',
        namespace,
        name: object,
        resourceVersion,
        service,
        endpoints,
        was: current.endpoints,
      });
    }
  }
  for (const current of owned) {
    if (records.has(current.service)) continue;
    const { namespace, name, resourceVersion, service, endpoints } = current;
    changes.push({ kind: 'delete', namespace, name, resourceVersion, service, was: endpoints });
  }
  return { changes, notPublished };
}
