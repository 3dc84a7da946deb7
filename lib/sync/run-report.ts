// The result document of a run as it ends: every exit of a sync reports (and logs) through here, and
// every failed document, the adapters' refusals included, is built here, so none lacks its stage.
import type { Logger } from '../log/logger.js';
import type { FailureStage, SyncResult, SyncStatus } from './result.js';
import type { RequestCounter } from '../cluster/ports.js';

/** What a step found out, for the document: source, prefix, diff, reload. */
export type ReportFields = Omit<
  SyncResult,
  'status' | 'pool' | 'trigger' | 'stage' | 'error' | 'apiRequests' | 'durationMs'
>;

/**
 * Which pool a document is about, what asked for it, and what the run cost. An adapter that refuses
 * an invocation before any run starts spent no request and no time, hence the zeros by default.
 */
export interface RunFrame {
  pool: string;
  trigger?: string | undefined;
  apiRequests?: number;
  durationMs?: number;
}

export interface Failure {
  stage: FailureStage;
  error: string;
  /** `rolled-back` when the run put the pool back as it was. */
  status?: Extract<SyncStatus, 'failed' | 'rolled-back'> | undefined;
}

export interface RunReport {
  done(status: Exclude<SyncStatus, 'failed' | 'rolled-back'>, fields: ReportFields): SyncResult;
  failed(
    stage: FailureStage,
    error: string,
    fields: ReportFields,
    status?: Extract<SyncStatus, 'failed' | 'rolled-back'>,
  ): SyncResult;
}

function documentOf(
  frame: RunFrame,
  status: SyncStatus,
  fields: ReportFields,
  failure: Partial<Pick<Failure, 'stage' | 'error'>> = {},
): SyncResult {
  return {
    pool: frame.pool,
    ...(frame.trigger === undefined ? {} : { trigger: frame.trigger }),
    status,
    ...fields,
    ...failure,
    apiRequests: frame.apiRequests ?? 0,
    durationMs: frame.durationMs ?? 0,
  };
}

/** The one builder of a failed (or rolled-back) document: the stage is what monitors alert on. */
export function failedResult(frame: RunFrame, failure: Failure, fields: ReportFields = {}): SyncResult {
  return documentOf(frame, failure.status ?? 'failed', fields, {
    stage: failure.stage,
    error: failure.error,
  });
}

export function startReport(pool: string, counter: RequestCounter, log: Logger, trigger?: string): RunReport {
  const started = Date.now();
  const frame = (): RunFrame => ({
    pool,
    trigger,
    apiRequests: counter.count,
    durationMs: Date.now() - started,
  });
  return {
    done(status, fields) {
      const result = documentOf(frame(), status, fields);
      log.info(`sync ${status}`, { ...result });
      return result;
    },
    failed(stage, error, fields, status) {
      const result = failedResult(frame(), { stage, error, status }, fields);
      log.error('sync failed', { ...result });
      return result;
    },
  };
}
