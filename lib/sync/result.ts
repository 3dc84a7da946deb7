// The result document of one sync: what the CLI prints and every function returns.
import type { KeepMode, ReloadStrategy } from '../config/choices.js';
import type { Evidence } from '../source/source.js';

/** `joined`: another run, in this process or another, is making this very change or restart. */
export type SyncStatus = 'unchanged' | 'updated' | 'joined' | 'dry-run' | 'rolled-back' | 'failed';

/**
 * Where a failed (or rolled-back) run stopped, for monitors: the message is for people. `request`:
 * the invocation was none the function serves (a Lambda event of another kind), so no run started.
 */
export type FailureStage =
  'request' | 'config' | 'detect' | 'read' | 'plan' | 'services' | 'write' | 'reload' | 'rollback';

export interface ReloadReport {
  strategy: ReloadStrategy;
  action: 'none' | 'cycled' | 'skipped' | 'failed';
  reason: string;
  metallbImage?: string;
  deletedPods?: string[];
  readyPods?: string[];
}

/** One Service re-pinned to keep its host part (or, `unpin`, handed back to MetalLB). */
export interface ServiceChange {
  service: string;
  kind: 'rewrite' | 'pin' | 'unpin';
  moved: { from: string; to: string }[];
}

/** What stable host numbering did to the Services in this run. */
export interface ServiceReport {
  mode: KeepMode;
  changed: ServiceChange[];
  /** Addresses in the old range that could not keep their host part, and why. */
  notKept: { service: string; address: string; reason: string }[];
  /** Why the Services were left alone (a missing permission), while the pool was synced. */
  skipped?: string;
  /** The changes were put back with the pool (rollback). */
  undone?: boolean;
}

/** What an NPTv6 run (--nptv6) published for external-dns. */
export interface PublishReport {
  translation: 'netmap' | 'rfc6296';
  /** The router's inside prefix. */
  inside: string;
  /** Services whose targets were (or, dry-run, would be) written; `targets` empty: ours removed. */
  changed: { service: string; targets: string[]; was?: string }[];
  notPublished: { service: string; reason: string }[];
}

export interface SyncResult {
  status: SyncStatus;
  pool: string;
  trigger?: string;
  source?: string;
  answer?: string;
  /** What each consulted source said, when several were. */
  sources?: Evidence[];
  prefix?: string;
  before?: string[];
  after?: string[];
  added?: string[];
  removed?: string[];
  reload?: ReloadReport;
  services?: ServiceReport;
  published?: PublishReport;
  apiRequests: number;
  durationMs: number;
  stage?: FailureStage;
  error?: string;
}

/** Whether the run left the pool right (or, dry-run, found what would make it right). */
export function succeeded(result: SyncResult): boolean {
  return result.status !== 'failed' && result.status !== 'rolled-back';
}

/** Process exit code for a result: 0 when the pool is right (or would be), 1 otherwise. */
export function exitCodeOf(result: SyncResult): number {
  return succeeded(result) ? 0 : 1;
}

export function formatText(r: SyncResult): string {
  const lines = [`${r.status}: ${r.pool}${r.prefix === undefined ? '' : ` for prefix ${r.prefix}`}`];
  if (r.source !== undefined) lines.push(`  source:  ${r.source} said ${r.answer ?? '?'}`);
  if (r.removed !== undefined && r.removed.length > 0) lines.push(...r.removed.map((a) => `  - ${a}`));
  if (r.added !== undefined && r.added.length > 0) lines.push(...r.added.map((a) => `  + ${a}`));
  if (r.after !== undefined) lines.push(`  pool:    ${r.after.join(', ')}`);
  if (r.reload !== undefined) lines.push(`  reload:  ${r.reload.action} (${r.reload.reason})`);
  if (r.services !== undefined) lines.push(...serviceLines(r.services));
  if (r.published !== undefined) lines.push(...publishedLines(r.published));
  if (r.error !== undefined) lines.push(`  error:   ${r.error}`);
  lines.push(
    `  ${String(r.apiRequests)} API request${r.apiRequests === 1 ? '' : 's'} in ${String(r.durationMs)} ms`,
  );
  return lines.join('\n');
}

function serviceLines(services: ServiceReport): string[] {
  const undone = services.undone === true ? ' (put back)' : '';
  return [
    ...services.changed.map((c) =>
      c.kind === 'unpin'
        ? `  service: ${c.service} unpinned${undone}`
        : `  service: ${c.service} ${c.moved.map((m) => `${m.from} -> ${m.to}`).join(', ')}${undone}`,
    ),
    ...services.notKept.map((n) => `  not kept: ${n.service} ${n.address}: ${n.reason}`),
    ...(services.skipped === undefined ? [] : [`  services left alone: ${services.skipped}`]),
  ];
}

function publishedLines(published: PublishReport): string[] {
  return [
    `  nptv6:   ${published.translation}, inside ${published.inside}`,
    ...published.changed.map((c) =>
      c.targets.length === 0
        ? `  published: ${c.service} removed (was ${c.was ?? '?'})`
        : `  published: ${c.service} ${c.targets.join(', ')}${c.was === undefined ? '' : ` (was ${c.was})`}`,
    ),
    ...published.notPublished.map((n) => `  not published: ${n.service}: ${n.reason}`),
  ];
}
