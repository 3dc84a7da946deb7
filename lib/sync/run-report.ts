// The result document of a run as it ends: every exit of a sync reports (and logs) through here.
import type { RequestCount } from '../cluster/api-requests.js';
import type { Logger } from '../log/logger.js';
import type { FailureStage, SyncResult, SyncStatus } from './result.js';

/** What a step found out, for the document: source, prefix, diff, reload. */
export type ReportFields = Omit<
  SyncResult,
  'status' | 'pool' | 'trigger' | 'stage' | 'error' | 'apiRequests' | 'durationMs'
>;

export interface RunReport {
  done(status: Exclude<SyncStatus, 'failed' | 'rolled-back'>, fields: ReportFields): SyncResult;
  failed(
    stage: FailureStage,
    error: string,
    fields: ReportFields,
    status?: Extract<SyncStatus, 'failed' | 'rolled-back'>,
  ): SyncResult;
}

export function startReport(pool: string, counter: RequestCount, log: Logger, trigger?: string): RunReport {
  const started = Date.now();
  const finish = (status: SyncStatus, fields: ReportFields, failure = {}): SyncResult => ({
    pool,
    ...(trigger === undefined ? {} : { trigger }),
    status,
    ...fields,
    ...failure,
    apiRequests: counter.count,
    durationMs: Date.now() - started,
  });
  return {
    done(status, fields) {
      const result = finish(status, fields);
      log.info(`sync ${status}`, { ...result });
      return result;
    },
    failed(stage, error, fields, status = 'failed') {
      const result = finish(status, fields, { stage, error });
      log.error('sync failed', { ...result });
      return result;
    },
  };
}
