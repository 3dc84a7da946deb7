// Stable host numbering, pure: which Services must be re-pinned so that each keeps its host part
// (the bits after the /64) when the pool moves to a new prefix. MetalLB gives an unpinned Service the
// lowest free address of the new range, and leaves a Service pinned to a dead address pending; a pin
// to the same host part under the new prefix avoids both.
import type { KeepMode } from '../config/choices.js';
import { SUBNET_LENGTH } from '../prefix/host-range.js';
import ipaddr from 'ipaddr.js';
import { parseIPv6, type IPv6 } from '../prefix/ipv6.js';
import { ANNOTATION_PREFIX } from './pool-record.js';
import type { PoolEntry } from './pool-entry.js';
import type { Pinning } from '../cluster/ports.js';

// Every Service annotation metallb-dyn6 reads or writes is named here.
/** The annotation MetalLB reads first, and the one it still honours from before 0.14. */
export const PIN_ANNOTATION = 'metallb.io/loadBalancerIPs';
export const DEPRECATED_PIN_ANNOTATION = 'metallb.universe.tf/loadBalancerIPs';
/** Cilium LB-IPAM's pin, and the alias it still reads (with spec.loadBalancerIP: it takes them all). */
export const CILIUM_PIN_ANNOTATION = 'lbipam.cilium.io/ips';
export const CILIUM_PIN_ALIAS = 'io.cilium/lb-ipam-ips';
/** A Service's opt-in under --keep-host-parts annotated: "true". */
export const KEEP_ANNOTATION = `${ANNOTATION_PREFIX}/keep-host-part`;
/**
 * The pin this tool wrote when it pinned a Service nobody had pinned. While a pin annotation holds
 * exactly this value the pin is ours to move or remove; once a person edits it, it is theirs.
 */
export const PINNED_BY_US_ANNOTATION = `${ANNOTATION_PREFIX}/pinned`;
/** With --nptv6 --nptv6-publish annotated, a Service's opt-in: "true". */
export const PUBLISH_ANNOTATION = `${ANNOTATION_PREFIX}/publish`;
/** The targets this tool published; a target annotation holding anything else is a person's. */
export const PUBLISHED_BY_US_ANNOTATION = `${ANNOTATION_PREFIX}/published`;
/**
 * Where external-dns reads a Service's targets: external-dns >= 0.22 reads the first only (unless
 * told otherwise), earlier releases the second; both are written, with the same value.
 */
/** Where external-dns reads the names a Service is published under (the newer key first, as for the targets). */
export const HOSTNAME_ANNOTATIONS = [
  'external-dns.kubernetes.io/hostname',
  'external-dns.alpha.kubernetes.io/hostname',
] as const;
export const TARGET_ANNOTATIONS = [
  'external-dns.kubernetes.io/target',
  'external-dns.alpha.kubernetes.io/target',
] as const;

/** A LoadBalancer Service as far as its addresses go. */
export interface LoadBalancerService {
  namespace: string;
  name: string;
  resourceVersion: string;
  annotations: Readonly<Record<string, string>>;
  /** spec.loadBalancerIP, the pin Kubernetes deprecated but MetalLB still reads. */
  loadBalancerIP?: string;
  /** status.loadBalancer.ingress[].ip: what MetalLB assigned. */
  ingress: readonly string[];
}

/** The fields a Service patch sets: annotations (null removes one) and spec.loadBalancerIP. */
export interface PinFields {
  annotations: Record<string, string | null>;
  loadBalancerIP?: string;
}

export interface AddressMove {
  from: string;
  to: string;
}

/**
 * One Service patch: `rewrite` moves the addresses of an existing pin, `pin` pins an unpinned
 * Service to its new address, `unpin` removes a pin of ours from a Service no longer kept.
 */
export interface ServiceMove {
  namespace: string;
  name: string;
  resourceVersion: string;
  kind: 'rewrite' | 'pin' | 'unpin';
  moved: AddressMove[];
  set: PinFields;
  /** The same fields as they were: what undoing the move writes back. */
  was: PinFields;
}

export interface NotKept {
  service: string;
  address: string;
  reason: string;
}

export interface ServicePlan {
  moves: ServiceMove[];
  notKept: NotKept[];
}

export interface HostPartInput {
  mode: KeepMode;
  /** The pool entries this tool owned before: a Service address inside one is ours to move. */
  from: readonly PoolEntry[];
  /** The /64 the pool moves to. */
  subnet: IPv6;
  /** The pool entries this tool owns after: a moved address must land inside one. */
  into: readonly PoolEntry[];
  /** How the load balancer pins a Service: the annotations it reads, and the one new pins get. */
  pinning: Pinning;
}

type Moved = { to: string; key: AddressKey } | { reason: string } | undefined;

/**
 * An address as a Map key: its eight 16-bit groups as the eight UTF-16 code units of a string. Cheaper
 * than formatting the address: a plan of 10,000 Services makes 20,000 of them.
 */
type AddressKey = string;
const keyOfGroups = (groups: Groups): AddressKey => String.fromCharCode(...groups);

/** Which Service holds, pins or is being given each IPv6 address. */
type Holders = Map<AddressKey, LoadBalancerService>;

/** An address as its eight 16-bit groups: compared and recombined without building integers. */
type Groups = readonly number[];

interface Span {
  first: Groups;
  last: Groups;
}

const compare = (a: Groups, b: Groups) => {
  for (let i = 0; i < 8; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
};

/** The IPv6 entries' bounds, worked out once per plan rather than once per Service. */
const spans = (entries: readonly PoolEntry[]): Span[] =>
  entries
    .filter((e) => e.family === 'ipv6')
    .map((e) => ({ first: (e.first as IPv6).parts, last: (e.last as IPv6).parts }));

function inside(groups: Groups, within: readonly Span[]): boolean {
  for (const span of within)
    if (compare(span.first, groups) <= 0 && compare(groups, span.last) <= 0) return true;
  return false;
}

/** The host part is the last four groups: the bits below the /64. */
const HOST_GROUPS = (128 - SUBNET_LENGTH) / 16;
const SUBNET_GROUPS = 8 - HOST_GROUPS;

/**
 * Every address text of every Service, parsed once per plan and read back by position: a Service's
 * `status` addresses, then the comma-separated pieces of each of its pins in the order the load
 * balancer reads them. Both passes over the Services read the same texts. Kept as bare groups,
 * 16 bytes an address, not as ipaddr.js's objects (~230 bytes each): a plan of 10,000 Services
 * holds them all until it ends, and at that size the objects alone outgrew a core's cache.
 */
interface ParsedAddresses {
  /** Each address's eight groups, one after the other. */
  groups: Uint16Array;
  /** 1 where the text at that position is an IPv6 address. */
  valid: Uint8Array;
  /** How many texts were read. */
  count: number;
  /** Where each Service's addresses start, by the Service's position. */
  starts: Int32Array;
}

/** The plan's input with its ranges worked out, and the addresses Services hold so far. */
interface Ranges extends HostPartInput {
  fromSpans: Span[];
  intoSpans: Span[];
  holders: Holders;
  parsed: ParsedAddresses;
  /** The addresses the Service being planned is given: its holders once its move is taken. */
  claims: AddressKey[];
  /** The groups of the address being moved, read out of `parsed`. */
  current: number[];
}

/** `groups` under the new subnet: its host part kept. */
function underSubnet(groups: Groups, subnet: Groups): number[] {
  const to = new Array<number>(8);
  for (let i = 0; i < 8; i++) to[i] = (i < SUBNET_GROUPS ? subnet[i] : groups[i]) ?? 0;
  return to;
}

/** Where the address at `at` of the parsed list goes: undefined when it is not in our old range or does not change. */
function moveAddress(at: number, input: Ranges, service: LoadBalancerService): Moved {
  const { parsed, current } = input;
  if (parsed.valid[at] !== 1) return undefined;
  for (let i = 0; i < 8; i++) current[i] = parsed.groups[at * 8 + i] ?? 0;
  if (!inside(current, input.fromSpans)) return undefined;
  const to = underSubnet(current, input.subnet.parts);
  if (!inside(to, input.intoSpans)) {
    const hostPart = new ipaddr.IPv6(underSubnet(current, [0, 0, 0, 0]));
    return { reason: `its host part ${hostPart.toString()} is outside the new host ranges` };
  }
  if (compare(to, current) === 0) return undefined;
  const key = keyOfGroups(to);
  const target = new ipaddr.IPv6(to).toString();
  // MetalLB gives an address to one Service only: pinning a second to it leaves one of them pending.
  const holder = input.holders.get(key);
  if (holder !== undefined && holder !== service)
    return { reason: `${target} is already held, pinned or being given to Service ${keyOf(holder)}` };
  return { to: target, key };
}

/**
 * A comma list of addresses (as MetalLB splits it) with our old-range entries moved, spacing kept;
 * the pieces' parsed addresses start at `first` in the parsed list.
 */
function moveList(
  pieces: readonly string[],
  first: number,
  input: Ranges,
  service: LoadBalancerService,
  notKept: NotKept[],
) {
  // A loop, not map and join: planning 10,000 Services must not allocate per address more than it keeps.
  const moved: AddressMove[] = [];
  let value = '';
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i] ?? '';
    if (i > 0) value += ',';
    const to = moveAddress(first + i, input, service);
    if (to === undefined) {
      value += piece;
      continue;
    }
    const from = piece.trim();
    if ('reason' in to) {
      notKept.push({ service: keyOf(service), address: from, reason: to.reason });
      value += piece;
      continue;
    }
    moved.push({ from, to: to.to });
    input.claims.push(to.key);
    value += piece === from ? to.to : piece.replace(from, to.to);
  }
  return { value, moved };
}

const wantsKept = (service: LoadBalancerService, mode: KeepMode) =>
  mode === 'all' || (mode === 'annotated' && service.annotations[KEEP_ANNOTATION] === 'true');

/** The pins a Service carries, in the order the load balancer reads them: annotation name, or spec.loadBalancerIP. */
function pinsOf(service: LoadBalancerService, reads: readonly string[]): Pin[] {
  const pins: Pin[] = [];
  for (const field of reads) {
    const value = service.annotations[field];
    if (value !== undefined) pins.push({ field, value });
  }
  if (service.loadBalancerIP !== undefined)
    pins.push({ field: LOAD_BALANCER_IP, value: service.loadBalancerIP });
  return pins;
}

interface Pin {
  field: string;
  value: string;
}

const LOAD_BALANCER_IP = 'spec.loadBalancerIP';

function setField(fields: PinFields, field: string, value: string): void {
  if (field === LOAD_BALANCER_IP) fields.loadBalancerIP = value;
  else fields.annotations[field] = value;
}

const keyOf = (service: LoadBalancerService) => `${service.namespace}/${service.name}`;
const moveOf = (
  service: LoadBalancerService,
  kind: ServiceMove['kind'],
  moved: AddressMove[],
  set: PinFields,
  was: PinFields,
): ServiceMove => ({
  namespace: service.namespace,
  name: service.name,
  resourceVersion: service.resourceVersion,
  kind,
  moved,
  set,
  was,
});

/**
 * What one Service needs, or undefined. Pushes the addresses it cannot keep to `notKept`. Its parsed
 * addresses start at `first`.
 */
function planOne(
  service: LoadBalancerService,
  first: number,
  input: Ranges,
  notKept: NotKept[],
): ServiceMove | undefined {
  const kept = wantsKept(service, input.mode);
  const pins = pinsOf(service, input.pinning.reads);
  if (pins.length === 0) return kept ? pinAssigned(service, first, input, notKept) : undefined;
  return repin(service, pins, kept, first + service.ingress.length, input, notKept);
}

/** An unpinned Service, pinned with every address MetalLB assigned (a dual-stack pin names both families). */
function pinAssigned(
  service: LoadBalancerService,
  first: number,
  input: Ranges,
  notKept: NotKept[],
): ServiceMove | undefined {
  const lost: NotKept[] = [];
  const current = service.ingress.join(',');
  const assigned = moveList(service.ingress, first, input, service, lost);
  notKept.push(...lost);
  if (assigned.moved.length === 0 || lost.length > 0) return undefined;
  const pin = input.pinning.writeWith;
  return moveOf(
    service,
    'pin',
    assigned.moved,
    { annotations: { [pin]: assigned.value, [PINNED_BY_US_ANNOTATION]: assigned.value } },
    // Undone, the pin stays (ours) at the address MetalLB had given: without one, MetalLB would
    // number the Service afresh on the restored pool, and the host part would be lost anyway.
    { annotations: { [pin]: current, [PINNED_BY_US_ANNOTATION]: current } },
  );
}

/**
 * A pinned Service with addresses in our old range: its pins rewritten when it is kept, or our own
 * pin removed when it is not (or cannot be), rather than left naming a dead address.
 */
function repin(
  service: LoadBalancerService,
  pins: Pin[],
  kept: boolean,
  first: number,
  input: Ranges,
  notKept: NotKept[],
): ServiceMove | undefined {
  const lost: NotKept[] = [];
  let next = first;
  const rewrites = pins.map((pin) => {
    const pieces = pin.value.split(',');
    const rewritten = moveList(pieces, next, input, service, lost);
    next += pieces.length;
    return { ...pin, rewritten };
  });
  const moved = rewrites.flatMap((r) => r.rewritten.moved);
  if (moved.length === 0 && lost.length === 0) return undefined;
  const record = service.annotations[PINNED_BY_US_ANNOTATION];
  // The annotation holding our own pin, if a pin is still as we wrote it.
  const ours = pins.find((p) => p.field !== LOAD_BALANCER_IP && p.value === record)?.field;
  if (kept) notKept.push(...lost);
  if (ours !== undefined && (!kept || lost.length > 0)) {
    const set = { annotations: { [ours]: null, [PINNED_BY_US_ANNOTATION]: null } };
    const was = { annotations: { [ours]: record ?? null, [PINNED_BY_US_ANNOTATION]: record ?? null } };
    return moveOf(service, 'unpin', [], set, was);
  }
  if (!kept || moved.length === 0) return undefined;
  const set: PinFields = { annotations: {} };
  const was: PinFields = { annotations: {} };
  for (const r of rewrites.filter((r) => r.rewritten.moved.length > 0)) {
    setField(set, r.field, r.rewritten.value);
    setField(was, r.field, r.value);
  }
  if (record !== undefined) {
    // Ours stays ours at its new value; a record a person's edit made stale goes.
    set.annotations[PINNED_BY_US_ANNOTATION] =
      ours === undefined ? null : (set.annotations[ours] ?? service.annotations[ours] ?? null);
    was.annotations[PINNED_BY_US_ANNOTATION] = record;
  }
  return moveOf(service, 'rewrite', moved, set, was);
}

/**
 * The Service patches that keep host parts when the pool moves from `from` to `into`: one pass,
 * linear in the Services. A Service the mode does not keep is left alone, except that a pin this
 * tool made on it is removed rather than left naming a dead address.
 */
export function planHostParts(services: readonly LoadBalancerService[], input: HostPartInput): ServicePlan {
  const notKept: NotKept[] = [];
  const moves: ServiceMove[] = [];
  if (input.mode === 'none') return { moves, notKept };
  const { parsed, holders } = readAddresses(services, input.pinning.reads, input.subnet);
  const ranges: Ranges = {
    ...input,
    fromSpans: spans(input.from),
    intoSpans: spans(input.into),
    holders,
    parsed,
    claims: [],
    current: [0, 0, 0, 0, 0, 0, 0, 0],
  };
  for (const [i, service] of services.entries()) {
    ranges.claims.length = 0;
    const move = planOne(service, parsed.starts[i] ?? 0, ranges, notKept);
    if (move === undefined) continue;
    moves.push(move);
    // An unpin gives nothing (its addresses were only looked at); every other move gives what it claimed.
    if (move.moved.length > 0) for (const key of ranges.claims) holders.set(key, service);
  }
  return { moves, notKept };
}

/**
 * Every address text parsed, and every address under the new /64 that a Service was given or is
 * pinned to, with the first Service that has it. A move only ever lands under the new /64, so an
 * address elsewhere cannot be in its way and is not indexed: before a renumbering, that is nearly
 * every address.
 */
function readAddresses(
  services: readonly LoadBalancerService[],
  reads: readonly string[],
  subnet: IPv6,
): { parsed: ParsedAddresses; holders: Holders } {
  const parsed: ParsedAddresses = {
    groups: new Uint16Array(services.length * 16),
    valid: new Uint8Array(services.length * 2),
    count: 0,
    starts: new Int32Array(services.length),
  };
  const holders: Holders = new Map();
  const read = (text: string, service: LoadBalancerService) => {
    const at = parsed.count++;
    if (at === parsed.valid.length) grow(parsed);
    const address = parseIPv6(text.trim());
    if (address === undefined) return;
    parsed.valid[at] = 1;
    parsed.groups.set(address.parts, at * 8);
    if (!address.match(subnet, SUBNET_LENGTH)) return;
    const key = keyOfGroups(address.parts);
    if (!holders.has(key)) holders.set(key, service);
  };
  for (const [i, service] of services.entries()) {
    parsed.starts[i] = parsed.count;
    for (const text of service.ingress) read(text, service);
    for (const { value } of pinsOf(service, reads)) for (const text of value.split(',')) read(text, service);
  }
  return { parsed, holders };
}

/** Room for twice as many addresses: Services with more than two (dual stack, several pins) need it. */
function grow(parsed: ParsedAddresses): void {
  const groups = new Uint16Array(parsed.groups.length * 2 + 16);
  groups.set(parsed.groups);
  const valid = new Uint8Array(parsed.valid.length * 2 + 2);
  valid.set(parsed.valid);
  parsed.groups = groups;
  parsed.valid = valid;
}
