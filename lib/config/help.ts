import { OPTION_ENTRIES } from './options.js';
import { MAX_DURATION_HOURS } from './parsers.js';

export function helpText(program: string): string {
  const rows = OPTION_ENTRIES.map(([, spec]) => {
    const flag = `  --${spec.flag}${spec.boolean === true ? '' : ' <value>'}`;
    const env = spec.env.length > 0 ? `env ${spec.env.join(', ')}` : 'flag only';
    const def = spec.default === undefined ? '' : `; default ${spec.default}`;
    return `${flag}\n      ${spec.help}\n      (${env}${def})`;
  });
  const usage = `Usage: ${program} [sync|run|serve] [options]`;
  return [
    usage,
    '',
    'Keeps a MetalLB IPAddressPool in step with a dynamic IPv6 prefix.',
    '  sync   one run (default): exit 0 unchanged/updated/joined/dry-run, 1 failed or rolled back, 2 bad configuration',
    "  run    sync every --interval until SIGTERM/SIGINT (the Rust tool's mode)",
    '  serve  the HTTP function (Knative, OpenFaaS): POST syncs with a bearer token, schedulers tick it',
    '  without a command, METALLB_DYN6_COMMAND names it (for platforms that pass no arguments)',
    '',
    'Options (flags win over environment variables):',
    `  durations are seconds, or a number with s, m or h (30s, 5m, 1h), up to ${String(MAX_DURATION_HOURS)}h`,
    ...rows,
    '  --force',
    '      sync only: restart MetalLB even if the pool is already right (once for runs at the same moment)',
    '  --help',
    '      Show this help',
    '',
    'The result of each run is a JSON document on stdout; logs are JSON lines on stderr.',
  ].join('\n');
}
