// NPTv6 mode's plan: for each LoadBalancer Service with an address in the router's inside prefix,
// the targets external-dns should publish — each inside address as the router translates it (see
// prefix/nptv6.ts), every other address as it is, since a target annotation replaces all of a
// Service's targets in external-dns. A Service carrying a target annotation we did not write is a
// person's: it is reported and left alone. Pure: the sync shell lists, patches and reports.
import type { PublishMode } from '../config/choices.js';
import { parseIPv6 } from '../prefix/ipv6.js';
import { publicAddress, type PrefixMapping, type Translation } from '../prefix/nptv6.js';
import {
  PUBLISH_ANNOTATION,
  PUBLISHED_BY_US_ANNOTATION,
  TARGET_ANNOTATIONS,
  type LoadBalancerService,
  type PinFields,
} from './host-parts.js';

export interface PublishInput {
  services: readonly LoadBalancerService[];
  mapping: PrefixMapping;
  translation: Translation;
  mode: PublishMode;
}

/** One Service whose published targets change (`targets` empty: ours are removed). */
export interface Publication {
  namespace: string;
  name: string;
  resourceVersion: string;
  targets: string[];
  /** What we had published before, if anything. */
  was?: string;
  set: PinFields;
}

export interface NotPublished {
  service: string;
  reason: string;
}

export interface PublishPlan {
  changes: Publication[];
  notPublished: NotPublished[];
}

export const keyOf = (s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`;

/** Whether the mode publishes this Service at all. */
export const wanted = (service: LoadBalancerService, mode: PublishMode): boolean =>
  mode === 'all' || service.annotations[PUBLISH_ANNOTATION] === 'true';

/** The targets of one Service: undefined when it has no inside address (not ours to publish). */
export function targetsOf(
  service: LoadBalancerService,
  input: PublishInput,
): { targets: string[] } | NotPublished | undefined {
  const { inside, length } = input.mapping;
  let insideSeen = false;
  const targets: string[] = [];
  for (const ip of service.ingress) {
    const address = parseIPv6(ip);
    if (address === undefined || !address.match(inside, length)) {
      targets.push(ip);
      continue;
    }
    insideSeen = true;
    const outside = publicAddress(address, input.mapping, input.translation);
    if (outside === undefined) {
      return {
        service: keyOf(service),
        reason: `${ip}: RFC 6296 cannot translate it (every interface-identifier word is ffff); the router drops its packets`,
      };
    }
    targets.push(outside.toString());
  }
  return insideSeen ? { targets } : undefined;
}

/** Our targets on one Service, the removal of a stale record of ours, or nothing to do. */
function planOne(
  service: LoadBalancerService,
  input: PublishInput,
  notPublished: NotPublished[],
): Publication | undefined {
  const ours = service.annotations[PUBLISHED_BY_US_ANNOTATION];
  const found = wanted(service, input.mode) ? targetsOf(service, input) : undefined;
  if (found !== undefined && 'reason' in found) {
    notPublished.push(found);
    return undefined;
  }
  const value = found?.targets.join(',');
  const theirs = TARGET_ANNOTATIONS.map((a) => service.annotations[a]).find(
    (v) => v !== undefined && v !== ours,
  );
  if (theirs !== undefined) {
    if (value !== undefined)
      notPublished.push({
        service: keyOf(service),
        reason: `has a target annotation of its own (${theirs}): left as it is`,
      });
    return undefined;
  }
  if (value === ours && TARGET_ANNOTATIONS.every((a) => service.annotations[a] === value)) return undefined;
  // No inside address (any more), or no longer wanted: our targets go, as we wrote them.
  if (value === undefined && ours === undefined) return undefined;
  const annotation = value ?? null;
  return {
    namespace: service.namespace,
    name: service.name,
    resourceVersion: service.resourceVersion,
    targets: found?.targets ?? [],
    ...(ours === undefined ? {} : { was: ours }),
    set: {
      annotations: Object.fromEntries(
        [...TARGET_ANNOTATIONS, PUBLISHED_BY_US_ANNOTATION].map((a) => [a, annotation]),
      ),
    },
  };
}

/** What to publish on every Service, and which Services cannot be published, with why. */
export function planPublication(input: PublishInput): PublishPlan {
  const notPublished: NotPublished[] = [];
  const changes = input.services.flatMap((s) => planOne(s, input, notPublished) ?? []);
  return { changes, notPublished };
}
