// The words around the option list in --help, as a user reads them.
import { describe, expect, it } from '@jest/globals';
import { helpText } from '../../lib/config/help.js';

// Called inside each test: the mutation run attributes what a test executes to that test only.
const lines = () => helpText('metallb-dyn6').split('\n');

describe('--help', () => {
  it('starts with the usage, the commands and their exit codes', () => {
    expect(lines().slice(0, 11)).toEqual([
      'Usage: metallb-dyn6 [sync|run|serve] [options]',
      '',
      'Keeps a MetalLB IPAddressPool in step with a dynamic IPv6 prefix.',
      '  sync   one run (default): exit 0 unchanged/updated/joined/dry-run, 1 failed or rolled back, 2 bad configuration',
      "  run    sync every --interval until SIGTERM/SIGINT (the Rust tool's mode)",
      '  serve  the HTTP function (Knative, OpenFaaS): POST syncs with a bearer token, schedulers tick it',
      '  without a command, METALLB_DYN6_COMMAND names it (for platforms that pass no arguments)',
      '',
      'Options (flags win over environment variables):',
      '  durations are seconds, or a number with s, m or h (30s, 5m, 1h), up to 168h',
      '  --source <value>',
    ]);
  });

  it('ends with --force, --help itself and where the output goes', () => {
    expect(lines().slice(-6)).toEqual([
      '  --force',
      '      sync only: restart MetalLB even if the pool is already right (once for runs at the same moment)',
      '  --help',
      '      Show this help',
      '',
      'The result of each run is a JSON document on stdout; logs are JSON lines on stderr.',
    ]);
  });
});
