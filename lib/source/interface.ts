// interface[:<name>]: the host's own global addresses, for a function or CronJob on the host
// network. Linux's /proc/net/if_inet6 says, per address, its scope and flags.
import ipaddr from 'ipaddr.js';
import { notGlobalUnicast, toBigInt, type IPv6 } from '../prefix/ipv6.js';
import { groupByPrefix } from './prefix-groups.js';
import { SourceError, type PrefixSource } from './source.js';

export const IF_INET6 = '/proc/net/if_inet6';

// include/uapi/linux/if_addr.h
const IFA_F_TEMPORARY = 0x01;
const IFA_F_DADFAILED = 0x08;
const IFA_F_DEPRECATED = 0x20;
const IFA_F_TENTATIVE = 0x40;
const SCOPE_GLOBAL = 0x00;

export interface InterfaceAddress {
  address: IPv6;
  ifname: string;
  prefixLength: number;
  scope: number;
  flags: number;
}

/** Parses if_inet6 lines: address (32 hex digits), ifindex, prefix length, scope, flags, name. */
export function parseIfInet6(text: string): InterfaceAddress[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length === 6 && /^[0-9a-f]{32}$/i.test(f[0] ?? ''))
    .map(([hex = '', , len = '0', scope = '0', flags = '0', ifname = '']) => ({
      address: ipaddr.IPv6.parse((hex.match(/.{4}/g) ?? []).join(':')),
      ifname,
      prefixLength: parseInt(len, 16),
      scope: parseInt(scope, 16),
      flags: parseInt(flags, 16),
    }));
}

/** Why an address is not a stable global one we may take the prefix from, or undefined. */
function unusable(a: InterfaceAddress): string | undefined {
  if (a.scope !== SCOPE_GLOBAL || notGlobalUnicast(a.address) !== undefined) return 'not global';
  if ((a.flags & IFA_F_TEMPORARY) !== 0) return 'temporary (privacy)';
  if ((a.flags & IFA_F_DEPRECATED) !== 0) return 'deprecated';
  if ((a.flags & IFA_F_TENTATIVE) !== 0) return 'tentative';
  if ((a.flags & IFA_F_DADFAILED) !== 0) return 'duplicate (DAD failed)';
  return undefined;
}

export interface InterfaceChoice {
  address: IPv6;
  ifname: string;
  /** Every prefix in use, lowest first; the first is `address`'s. */
  candidates: string[];
  /** The lowest stable address of each other prefix in use, in the same order. */
  others: InterfaceAddress[];
}

/**
 * Orders the usable addresses deterministically: per delegated prefix the lowest address, the
 * lowest prefix first, so the same host state always yields the same answer. When several prefixes
 * are in use, which one the network uses now is not the kernel's to say: the others go along as
 * alternatives, and the sync decides with the pool's prefix history.
 */
export function chooseInterfaceAddress(
  all: readonly InterfaceAddress[],
  ifname: string | undefined,
  delegatedLength: number,
): InterfaceChoice | string {
  const onInterface = all.filter((a) => ifname === undefined || a.ifname === ifname);
  if (ifname !== undefined && onInterface.length === 0) return `no interface ${ifname} with IPv6 addresses`;
  const usable = onInterface.filter((a) => unusable(a) === undefined);
  if (usable.length === 0) {
    const seen = onInterface.map((a) => `${a.address.toString()} (${unusable(a) ?? ''})`).join(', ');
    return `no stable global IPv6 address${ifname === undefined ? '' : ` on ${ifname}`}${seen === '' ? '' : `: ${seen}`}`;
  }
  // The prefix is the address's leading bits: address order is prefix order too.
  const sorted = [...usable].sort((a, b) => {
    const [x, y] = [toBigInt(a.address), toBigInt(b.address)];
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const groups = groupByPrefix(sorted, (a) => a.address, delegatedLength);
  const [chosen, ...others] = groups.map((g) => g.members[0]).filter((a) => a !== undefined);
  if (chosen === undefined) return 'no address';
  return { address: chosen.address, ifname: chosen.ifname, candidates: groups.map((g) => g.prefix), others };
}

export function interfaceSource(
  ifname: string | undefined,
  delegatedLength: number,
  path = IF_INET6,
): PrefixSource {
  const name = `interface${ifname === undefined ? '' : `:${ifname}`}`;
  return {
    name,
    async detect() {
      let text: string;
      try {
        // Loaded by the one source that reads a file: every other run starts without it.
        const { readFile } = await import('node:fs/promises');
        text = await readFile(path, 'utf8');
      } catch (error) {
        throw new SourceError(
          name,
          `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}): Linux with IPv6 only`,
        );
      }
      const choice = chooseInterfaceAddress(parseIfInet6(text), ifname, delegatedLength);
      if (typeof choice === 'string') throw new SourceError(name, choice);
      const note = choice.candidates.length > 1 ? `; prefixes in use: ${choice.candidates.join(', ')}` : '';
      const answer = (a: { address: IPv6; ifname: string }, extra = '') => ({
        source: name,
        address: a.address,
        raw: `${a.address.toString()} on ${a.ifname}${extra}`,
      });
      return {
        ...answer(choice, note),
        ...(choice.others.length === 0 ? {} : { alternatives: choice.others.map((o) => answer(o)) }),
      };
    },
  };
}
