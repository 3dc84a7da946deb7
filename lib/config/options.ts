// Every setting, once: its flag, its environment names (the Rust tool's first), default, help and
// parser. The CLI's parser, its --help, the README's table and loadConfig all come from this list.
import { parseHostRanges } from '../prefix/host-range.js';
import { parseCidr } from '../source/combinators.js';
import {
  BACKENDS,
  KEEP_MODES,
  LOG_LEVELS,
  NPTV6_MODES,
  OUTPUT_FORMATS,
  PUBLISH_MODES,
  RECORD_KINDS,
  RELOAD_STRATEGIES,
} from './choices.js';
import {
  asGiven,
  DNS_LABEL,
  DNS_SUBDOMAIN,
  duration,
  expecting,
  kubernetesName,
  labelSelector,
  oneOf,
  parseBoolean,
  type Parse,
} from './parsers.js';

export interface OptionSpec<T = unknown> {
  flag: string;
  env: readonly string[];
  /** Shown in --help, and parsed when the option is not given; undefined means required or unset. */
  default?: string;
  boolean?: boolean;
  /** A blank value is refused as missing; the value is read without surrounding blanks. */
  required?: boolean;
  /** Required only when metallb-dyn6 keeps a pool: with --nptv6 it publishes addresses instead. */
  poolOnly?: boolean;
  help: string;
  /** Checks the option on its own; what needs other options too is checked in loadConfig. */
  parse: Parse<T>;
}

export const OPTIONS = {
  source: {
    flag: 'source',
    env: ['METALLB_DYN6_SOURCE'],
    default: 'my-ip',
    help: 'Where the current prefix comes from: my-ip | url:<URL>[#json.field] | static:<prefix> | cloudflare-trace[:<URL>] | dns:<name>[@server] | doh:<name>[@<URL>] | interface[:<name>] | kubernetes-nodes[:<selector>] | first(a, b, ...) | quorum(k; a, b, ...) | within(<CIDR>; a)',
    // The spec is built in loadConfig: sources take the timeouts, retries and delegated length.
    parse: asGiven,
  },
  hostRange: {
    flag: 'host-range',
    env: ['METALLB_DYN6_HOST_RANGE'],
    help: 'Host part of the pool range(s) inside the /64: ::1000-::1999, ::1000/116, or a comma list (required, but with --nptv6)',
    required: true,
    poolOnly: true,
    parse: parseHostRanges,
  },
  backend: {
    flag: 'backend',
    env: ['METALLB_DYN6_BACKEND'],
    default: 'metallb',
    help: 'Whose pool to keep: metallb (an IPAddressPool in --namespace) | cilium (a cluster-scoped CiliumLoadBalancerIPPool; needs deploy/components/cilium) | auto (the one of the two the cluster has a pool named --pool of)',
    parse: oneOf(BACKENDS),
  },
  pool: {
    flag: 'pool',
    env: ['METALLB_DYN6_METALLB_POOL'],
    help: 'Name of the pool to manage: the IPAddressPool, or the CiliumLoadBalancerIPPool with --backend cilium (required, but with --nptv6)',
    required: true,
    poolOnly: true,
    parse: kubernetesName(DNS_SUBDOMAIN, 253, 'a valid Kubernetes object name'),
  },
  namespace: {
    flag: 'namespace',
    env: ['METALLB_DYN6_METALLB_NAMESPACE'],
    default: 'metallb-system',
    help: "MetalLB's namespace: where the pool and MetalLB's pods are",
    required: true,
    parse: kubernetesName(DNS_LABEL, 63, 'a valid namespace name'),
  },
  labelSelector: {
    flag: 'label-selector',
    env: ['METALLB_DYN6_METALLB_LABEL_SELECTOR'],
    default: 'app.kubernetes.io/name=metallb,app.kubernetes.io/instance=metallb',
    help: "Selects MetalLB's pods (controller and speakers) for version detection and reloads; when not set, the Helm chart's labels are tried first, then MetalLB's own manifests' (app=metallb)",
    parse: labelSelector,
  },
  subnetOverride: {
    flag: 'subnet-override',
    env: ['METALLB_DYN6_SUBNET_OVERRIDE'],
    help: 'Bits ORed into the prefix after keeping its first --prefix-length bits, e.g. 0:0:0:cd::',
    // Checked with --prefix-length in loadConfig: each is meaningless alone.
    parse: asGiven,
  },
  prefixLength: {
    flag: 'prefix-length',
    env: ['METALLB_DYN6_PREFIX_LENGTH'],
    help: 'How many leading bits of the prefix --subnet-override keeps (1..63); only with --subnet-override',
    parse: asGiven,
  },
  delegatedLength: {
    flag: 'delegated-length',
    env: ['METALLB_DYN6_DELEGATED_PREFIX_LENGTH'],
    default: '64',
    help: "Length of the prefix in the source's answer that belongs to you (48, 56, 64...)",
    parse: expecting('a prefix length from 1 to 64', (v) =>
      /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 64 ? Number(v) : undefined,
    ),
  },
  expectedPrefix: {
    flag: 'expected-prefix',
    env: ['METALLB_DYN6_EXPECTED_PREFIX'],
    help: "Refuse any answer outside this prefix, e.g. your ISP's allocation 2a02:8070::/29",
    parse: expecting('an IPv6 CIDR', parseCidr),
  },
  detectDeadline: {
    flag: 'detect-deadline',
    env: ['METALLB_DYN6_DETECT_DEADLINE'],
    default: '30',
    help: 'Seconds the whole prefix detection may take, all sources and retries included',
    parse: duration(1),
  },
  interval: {
    flag: 'interval',
    env: ['METALLB_DYN6_UPDATE_INTERVAL'],
    default: '60',
    help: "Seconds between syncs in 'run' mode (also 30s, 5m, 1h)",
    parse: duration(1000),
  },
  minTickInterval: {
    flag: 'min-tick-interval',
    env: ['METALLB_DYN6_MIN_TICK_INTERVAL'],
    default: '30',
    help: 'Functions only: schedule ticks (unauthenticated) closer together than this are refused with 429',
    parse: duration(0),
  },
  dryRun: {
    flag: 'dry-run',
    env: ['METALLB_DYN6_DRY_RUN'],
    default: 'false',
    boolean: true,
    help: 'Print what would change and write nothing',
    parse: expecting('true or false', parseBoolean),
  },
  keepHostParts: {
    flag: 'keep-host-parts',
    env: ['METALLB_DYN6_KEEP_HOST_PARTS'],
    default: 'none',
    help: 'When the prefix changes, LoadBalancer Services keep their host part (::1005 stays ::1005) by re-pinning them: none | annotated (Services annotated metallb-dyn6/keep-host-part=true) | all; needs deploy/components/keep-host-parts',
    parse: oneOf(KEEP_MODES),
  },
  nptv6: {
    flag: 'nptv6',
    env: ['METALLB_DYN6_NPTV6'],
    default: 'off',
    help: "The router translates a stable inside prefix to the ISP's (NPTv6): netmap (nftables prefix NAT, NETMAP, pf binat) | rfc6296 (checksum-neutral: ip6tables SNPT/DNPT) | off. On, the pool is never written: each LoadBalancer Service's public address is published for external-dns instead",
    parse: oneOf(NPTV6_MODES),
  },
  nptv6Inside: {
    flag: 'nptv6-inside',
    env: ['METALLB_DYN6_NPTV6_INSIDE'],
    help: "The router's inside prefix, as long as the delegation (--delegated-length), e.g. fd00:1234:5678::/48; needed with --nptv6",
    parse: expecting('an IPv6 CIDR', parseCidr),
  },
  nptv6Publish: {
    flag: 'nptv6-publish',
    env: ['METALLB_DYN6_NPTV6_PUBLISH'],
    default: 'all',
    help: 'With --nptv6, whose public address is published: all (every LoadBalancer Service with an inside address) | annotated (those annotated metallb-dyn6/publish=true)',
    parse: oneOf(PUBLISH_MODES),
  },
  nptv6Records: {
    flag: 'nptv6-records',
    env: ['METALLB_DYN6_NPTV6_RECORDS'],
    default: 'annotations',
    help: "With --nptv6, where the public addresses go: annotations (external-dns's target annotations on each Service) | dnsendpoint (a DNSEndpoint per Service, named by its external-dns hostname annotation; the Services are only read)",
    parse: oneOf(RECORD_KINDS),
  },
  reload: {
    flag: 'reload',
    env: ['METALLB_DYN6_RELOAD'],
    default: 'auto',
    help: "Restart MetalLB's pods after a change: auto (only MetalLB < 0.14.2 or unknown version) | always | never",
    parse: oneOf(RELOAD_STRATEGIES),
  },
  reloadTimeout: {
    flag: 'reload-timeout',
    env: ['METALLB_DYN6_RELOAD_TIMEOUT'],
    default: '120',
    help: "Seconds to wait for MetalLB's replacement pods to be Ready before rolling the pool back",
    parse: duration(0),
  },
  requestTimeout: {
    flag: 'request-timeout',
    env: ['METALLB_DYN6_REQUEST_TIMEOUT'],
    default: '10',
    help: 'Seconds one Kubernetes API request may take; timeouts, resets, 429 and 5xx are retried with backoff within --deadline',
    parse: duration(1),
  },
  deadline: {
    flag: 'deadline',
    env: ['METALLB_DYN6_DEADLINE'],
    help: 'Seconds a whole run may take, every request and wait included; default: --detect-deadline + 2 x --reload-timeout + 60',
    // No default here: loadConfig derives it from the two options it depends on.
    parse: duration(1000),
  },
  sourceTimeout: {
    flag: 'source-timeout',
    env: ['METALLB_DYN6_SOURCE_TIMEOUT'],
    default: '10',
    help: 'Seconds one source request may take',
    parse: duration(1),
  },
  sourceRetries: {
    flag: 'source-retries',
    env: ['METALLB_DYN6_SOURCE_RETRIES'],
    default: '2',
    help: 'Retries of a failed source request (0..5), with exponential backoff',
    parse: expecting('a whole number from 0 to 5', (v) =>
      /^\d$/.test(v) && Number(v) <= 5 ? Number(v) : undefined,
    ),
  },
  myIpUrl: {
    flag: 'my-ip-url',
    env: ['METALLB_DYN6_MY_IP_URL'],
    default: 'https://api6.my-ip.io/ip.json',
    help: 'Endpoint of the my-ip source (answers {"success":true,"ip":"...","type":"IPv6"})',
    // The my-ip source checks it, and only when it is the one that asks.
    parse: asGiven,
  },
  port: {
    flag: 'port',
    env: ['METALLB_DYN6_PORT', 'PORT'],
    default: '8080',
    help: 'run and serve: the port of the health probes (/health/liveness, /health/readiness), /metrics and (serve) the HTTP calls',
    // The CLI checks it: it needs the port before any configuration, and 'serve' loads none up front.
    parse: asGiven,
  },
  kubeconfig: {
    flag: 'kubeconfig',
    env: [],
    help: 'Kubeconfig file; default: $KUBECONFIG, else ~/.kube/config, else the in-cluster service account',
    parse: asGiven,
  },
  output: {
    flag: 'output',
    env: ['METALLB_DYN6_OUTPUT'],
    default: 'json',
    help: 'Result on stdout: json (a document per run) | text (for people)',
    parse: oneOf(OUTPUT_FORMATS),
  },
  logLevel: {
    flag: 'log-level',
    env: ['METALLB_DYN6_LOG_LEVEL'],
    default: 'info',
    help: 'Structured JSON logs on stderr: debug | info | warn | error',
    parse: oneOf(LOG_LEVELS),
  },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

/** The labels MetalLB's own manifests (config/manifests) put on its pods, tried after the Helm chart's. */
export const MANIFEST_LABEL_SELECTOR = 'app=metallb';

export const OPTION_SPECS: Readonly<Record<OptionName, OptionSpec>> = OPTIONS;
export const OPTION_ENTRIES = Object.entries(OPTION_SPECS) as readonly [OptionName, OptionSpec][];

type ValueOf<N extends OptionName> = (typeof OPTIONS)[N]['parse'] extends Parse<infer T> ? T : never;

/** Each option's parsed value: one with a default always has one, the others only when given. */
export type OptionValues = {
  [N in OptionName]: (typeof OPTIONS)[N] extends { default: string } ? ValueOf<N> : ValueOf<N> | undefined;
};

/** How a message names an option: its flag and its environment variables. */
export function optionLabel(name: OptionName): string {
  const spec = OPTION_SPECS[name];
  return [`--${spec.flag}`, ...spec.env].join(' / ');
}

/** Raw text of each option that was given, flags winning over the environment. */
export type RawSettings = Partial<Record<OptionName, string>>;

export function settingsFrom(
  env: Readonly<Record<string, string | undefined>>,
  flags: Readonly<Partial<Record<string, string | boolean>>>,
): RawSettings {
  const raw: RawSettings = {};
  for (const [name, spec] of OPTION_ENTRIES) {
    const flag = flags[spec.flag];
    const fromEnv = spec.env.map((e) => env[e]).find((v) => v !== undefined && v !== '');
    const value = flag === undefined ? fromEnv : String(flag);
    if (value !== undefined) raw[name] = value;
  }
  return raw;
}
