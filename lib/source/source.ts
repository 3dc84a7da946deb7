import type { IPv6 } from '../prefix/ipv6.js';
import { quotedExcerpt } from '../text/excerpt.js';
import type { NodeDirectory } from '../cluster/ports.js';

/** A validated answer: a global unicast IPv6 address, maybe with the prefix length the source gave. */
export interface SourceAnswer {
  source: string;
  address: IPv6;
  prefixLength?: number;
  /** The answer as the source gave it, for the result document. */
  raw: string;
  /** What each source consulted said, when several were (first, quorum). */
  evidence?: Evidence[];
  /**
   * Other prefixes in use right now, one address each (a host or nodes during a renumbering): the
   * sync chooses among this answer and these with the pool's prefix history.
   */
  alternatives?: SourceAnswer[];
}

export interface Evidence {
  source: string;
  answer?: string;
  error?: string;
}

export interface DetectContext {
  /** Aborted when the whole detection's deadline passes. */
  signal?: AbortSignal;
  /** The cluster's Nodes, for the kubernetes-nodes source. */
  nodes?: NodeDirectory;
}

/** Where the current prefix comes from (cloudflare-ddns's provider). Detecting never writes anything. */
export interface PrefixSource {
  readonly name: string;
  detect(context: DetectContext): Promise<SourceAnswer>;
}

/** A source that did not give a usable answer; the message names the source and the reason. */
export class SourceError extends Error {
  constructor(
    readonly source: string,
    readonly reason: string,
  ) {
    super(`source ${source}: ${reason}`);
    this.name = 'SourceError';
  }
}

/** A short, quoted excerpt of an answer for error messages: an address needs no more than this. */
export function excerpt(text: string, maxBytes = 60): string {
  return quotedExcerpt(text, maxBytes);
}
