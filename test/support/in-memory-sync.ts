// One sync on the in-memory cluster, with its result and its structured logs.
import { jsonLogger } from '../../lib/log/logger.js';
import { parseAnswer } from '../../lib/source/answer.js';
import type { PrefixSource } from '../../lib/source/source.js';
import { staticSource } from '../../lib/source/static.js';
import { syncOnce, type SyncRequest, type SyncSettings } from '../../lib/sync/sync-once.js';
import type { InMemoryCluster } from './in-memory-cluster.js';
import { SUBNET_NEW, syncSettings } from './sync-settings.js';

export interface Run {
  result: Awaited<ReturnType<typeof syncOnce>>;
  logs: { level: string; msg: string }[];
}

export const answering = (subnet: string) => staticSource(parseAnswer('static', `${subnet}::9`));

export async function run(
  cluster: InMemoryCluster,
  options: { source?: PrefixSource; settings?: Partial<SyncSettings>; request?: SyncRequest } = {},
): Promise<Run> {
  const logs: Run['logs'] = [];
  const log = jsonLogger('debug', (line) => logs.push(JSON.parse(line) as Run['logs'][number]));
  const result = await syncOnce(
    syncSettings(options.settings),
    options.source ?? answering(SUBNET_NEW),
    cluster.target,
    log,
    options.request,
  );
  return { result, logs };
}
