// The settings that take one of a few words: each list is the only place its words are written.
export const RELOAD_STRATEGIES = ['auto', 'always', 'never'] as const;
export type ReloadStrategy = (typeof RELOAD_STRATEGIES)[number];

export const OUTPUT_FORMATS = ['json', 'text'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Which Services keep their host part across a prefix change (see lib/plan/host-parts.ts). */
export const KEEP_MODES = ['none', 'annotated', 'all'] as const;
export type KeepMode = (typeof KEEP_MODES)[number];

/** The load balancer whose pool is kept (auto: the one whose pool the cluster has). */
export const BACKENDS = ['metallb', 'cilium', 'auto'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

/** How the home router translates prefixes, when metallb-dyn6 publishes addresses instead of moving the pool. */
export const NPTV6_MODES = ['off', 'netmap', 'rfc6296'] as const;
export type Nptv6Mode = (typeof NPTV6_MODES)[number];

/** Which Services get their public address published (see lib/plan/published.ts). */
export const PUBLISH_MODES = ['annotated', 'all'] as const;
export type PublishMode = (typeof PUBLISH_MODES)[number];

/** Where NPTv6 mode publishes: the Services' external-dns annotations, or DNSEndpoints of its own. */
export const RECORD_KINDS = ['annotations', 'dnsendpoint'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];
