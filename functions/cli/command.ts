// The command-line adapter: metallb-dyn6 [sync|run|serve] [options], as one function of the
// arguments and the environment to an exit code (main.ts runs it for the process).
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../../lib/config/config.js';
import { helpText } from '../../lib/config/help.js';
import {
  optionLabel,
  OPTIONS,
  OPTION_SPECS,
  settingsFrom,
  type RawSettings,
} from '../../lib/config/options.js';
import { loadKubeConfig } from '../../lib/cluster/kube-config.js';
import { jsonLogger } from '../../lib/log/logger.js';
import { exitCodeOf, formatText, type SyncResult } from '../../lib/sync/result.js';
import { createSyncer } from '../../lib/sync/syncer.js';
import { errorText } from '../../lib/errors/error-text.js';
import { parsePort } from '../shared/http-server.js';
import { runLoop } from './run-loop.js';
import { serve } from './serve.js';

export const PROGRAM = 'metallb-dyn6';
const COMMANDS = ['sync', 'run', 'serve'];
export const COMMAND_ENV = 'METALLB_DYN6_COMMAND';

const report = (line: string) => process.stderr.write(`${PROGRAM}: ${line}\n`);
const kubeconfigOf = (settings: RawSettings) =>
  settings.kubeconfig === undefined ? {} : { kubeconfig: settings.kubeconfig };

function print(config: Config, result: SyncResult): void {
  process.stdout.write(`${config.output === 'text' ? formatText(result) : JSON.stringify(result)}\n`);
}

type Parsed = ReturnType<typeof parseCommandLine>;

function parseCommandLine(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      // Per invocation, never configured: a CronJob that forced every tick would restart MetalLB each time.
      force: { type: 'boolean' },
      ...Object.fromEntries(
        Object.values(OPTION_SPECS).map((s) => [
          s.flag,
          { type: s.boolean === true ? 'boolean' : 'string' } as const,
        ]),
      ),
    },
  });
}

/** The command to run, and every problem with the command line that no option check finds. */
function commandOf(parsed: Parsed, env: NodeJS.ProcessEnv, port: number | undefined, settings: RawSettings) {
  // Platforms that cannot pass arguments (OpenFaaS's stack files) pick the command by environment.
  const [command = env[COMMAND_ENV] || 'sync', ...extra] = parsed.positionals;
  const force = parsed.values['force'] === true;
  const problems: string[] = [];
  if (!COMMANDS.includes(command)) problems.push(`unknown command "${command}" (${COMMANDS.join(', ')})`);
  if (extra.length > 0) problems.push(`unexpected arguments: ${extra.join(' ')}`);
  if (force && command !== 'sync') problems.push(`--force is for one sync, not for ${command}`);
  if (port === undefined)
    problems.push(`${optionLabel('port')}: "${settings.port ?? ''}" is not a port number (0 to 65535)`);
  return { command, force, problems };
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    report(`${errorText(error)} (see --help)`);
    return 2;
  }
  if (parsed.values['help'] === true) {
    process.stdout.write(`${helpText(PROGRAM)}\n`);
    return 0;
  }
  const settings = settingsFrom(env, parsed.values);
  const port = parsePort(settings.port ?? OPTIONS.port.default);
  const { command, force, problems } = commandOf(parsed, env, port, settings);
  if (command === 'serve' && problems.length === 0)
    return serve(env, { port: port ?? 0, flags: parsed.values, ...kubeconfigOf(settings), report });
  const loaded = loadConfig(settings);
  if (!loaded.ok) problems.push(...loaded.error);
  if (problems.length > 0 || !loaded.ok || port === undefined) {
    for (const p of problems) report(p);
    return 2;
  }
  const config = loaded.value;
  let kc;
  try {
    kc = loadKubeConfig(config.kubeconfig);
  } catch (error) {
    report(errorText(error));
    return 2;
  }
  const log = jsonLogger(config.logLevel);
  const syncer = createSyncer(config, kc, log);
  if (command === 'run')
    return runLoop(config, syncer, {
      port,
      log,
      print: (r) => {
        print(config, r);
      },
      report,
    });
  // The process's own start: processes launched together count as one burst however slowly each starts.
  const startedAt = new Date(performance.timeOrigin);
  const result = await syncer.sync({ trigger: 'cli', startedAt, ...(force ? { force } : {}) });
  print(config, result);
  return exitCodeOf(result);
}
