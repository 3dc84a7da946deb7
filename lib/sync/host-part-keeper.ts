// Stable host numbering, the imperative half: lists the Services once per run, patches the moves the
// pure planner asks for (bounded, each at its resourceVersion, re-planned on a conflict), and undoes
// them when the pool write or the load balancer fails. One Service never holds the pool back: a Service that is
// gone, no longer a LoadBalancer, or whose patch is refused is left as it is and reported, and the
// others are kept. A missing permission to list leaves them all alone, and the run says what to grant.
import pLimit from 'p-limit';
import type { KeepMode } from '../config/choices.js';
import { errorText } from '../errors/error-text.js';
import {
  planHostParts,
  type HostPartInput,
  type LoadBalancerService,
  type PinFields,
  type NotKept,
  type ServiceMove,
} from '../plan/host-parts.js';
import { ClusterError, statusCode } from '../cluster/api-error.js';
import { retryOnConflict } from '../cluster/conflicts.js';
import { ServiceGoneError, ServicePermissionError } from '../cluster/service-resource.js';
import type { ServiceChange, ServiceReport } from './result.js';
import type { LoadBalancer, Pinning, ReloadPlan, ServiceRef, ServiceResource } from '../cluster/ports.js';

/** Service patches in flight at once: enough to move hundreds in seconds, few enough for any apiserver. */
export const SERVICE_PATCH_CONCURRENCY = 8;

/** Where the Services' addresses go, without the settings the keeper adds. */
export type MoveInput = Omit<HostPartInput, 'mode' | 'pinning'>;

interface AppliedMove {
  move: ServiceMove;
  /** The Service as our patch left it; undefined when the patch's answer was lost. */
  after: LoadBalancerService | undefined;
}

const refOf = (s: { namespace: string; name: string }): ServiceRef => ({
  namespace: s.namespace,
  name: s.name,
});
const keyOf = (s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`;

/** A failure after which the patch may still have been applied: no answer, or the server's own fault. */
const maybeApplied = (error: unknown) => {
  const code = error instanceof ClusterError ? error.status : statusCode(error);
  return code === undefined || code >= 500;
};

/** One run's dealings with the Services: what it listed, moved, could not keep, and put back. */
export class HostPartKeeper {
  /** The one LIST of the run, updated with every answer to our patches. */
  private services: Map<string, LoadBalancerService> | undefined;
  private applied: AppliedMove[] = [];
  /** The moves planned and not yet applied (a dry run's stay here, for the report). */
  private planned: ServiceMove[] = [];
  private dryRun = false;
  /** Pins an interrupted run left on a dead prefix, moved back (never undone). */
  private repaired: ServiceMove[] = [];
  private input: HostPartInput | undefined;
  /** What the plan could not keep, and the Services whose patch failed. */
  private notKept: NotKept[] = [];
  private failed: NotKept[] = [];
  private skipped: string | undefined;
  private undone = false;
  private active = false;

  /** How the load balancer pins a Service, asked once per run. */
  private pinning: Pinning | undefined;

  constructor(
    private readonly api: ServiceResource,
    private readonly loadBalancer: LoadBalancer,
    readonly mode: KeepMode,
  ) {}

  /**
   * Plans the Services' moves for the pool moving as `input` says; `known`, a reload plan the run
   * made already, saves asking the load balancer how it pins again. Returns how many Services must be
   * patched. A refused LIST leaves the Services alone (reported); any other failure to list throws.
   */
  async plan(input: MoveInput, dryRun: boolean, known?: ReloadPlan): Promise<number> {
    this.dryRun = dryRun;
    if (this.mode === 'none') return 0;
    // Planned once per run: after a pool conflict, what is left is what was not applied yet.
    if (this.input !== undefined) return this.planned.length;
    const full = await this.listedInput(input, this.mode, known);
    if (full === undefined) return 0;
    this.input = full;
    const plan = planHostParts([...this.listed().values()], full);
    this.notKept = plan.notKept;
    this.planned = plan.moves;
    return plan.moves.length;
  }

  /** Patches the planned moves, 8 at a time; a Service that cannot be moved is reported, not fatal. */
  async apply(): Promise<void> {
    const input = this.input;
    if (input === undefined) return;
    const moves = this.planned;
    this.planned = [];
    await this.patchAll(moves, input, this.applied);
  }

  /**
   * Moves every pin an interrupted run left inside `input.from` (a prefix no pool holds) back to
   * the pool's current owned entries, or removes it where that cannot be. Not undone with this
   * run's own moves: those pins pointed nowhere. Returns how many could not be moved back (then
   * the record stays for the next run), or undefined when the Services could not be listed.
   */
  async repair(input: MoveInput): Promise<number | undefined> {
    const full = await this.listedInput(input, 'all');
    if (full === undefined) return undefined;
    const plan = planHostParts([...this.listed().values()], full);
    const failedBefore = this.failed.length;
    const repaired: AppliedMove[] = [];
    await this.patchAll(plan.moves, full, repaired);
    this.repaired.push(...repaired.filter((r) => r.after !== undefined).map((r) => r.move));
    const unrepaired = this.failed.length - failedBefore;
    this.failed.push(...plan.notKept);
    return unrepaired;
  }

  /** The input completed with the mode and pinning, after the run's one LIST; undefined if refused. */
  private async listedInput(
    input: MoveInput,
    mode: Exclude<KeepMode, 'none'>,
    known?: ReloadPlan,
  ): Promise<HostPartInput | undefined> {
    if (this.skipped !== undefined) return undefined;
    this.active = true;
    this.pinning ??= await this.loadBalancer.pinning(known);
    try {
      this.services ??= new Map((await this.api.list()).map((s) => [keyOf(s), s]));
    } catch (error) {
      if (!(error instanceof ServicePermissionError)) throw error;
      this.skipped = error.message;
      return undefined;
    }
    return { ...input, mode, pinning: this.pinning };
  }

  private listed(): Map<string, LoadBalancerService> {
    return this.services ?? new Map<string, LoadBalancerService>();
  }

  private async patchAll(
    moves: readonly ServiceMove[],
    input: HostPartInput,
    into: AppliedMove[],
  ): Promise<void> {
    const limit = pLimit(SERVICE_PATCH_CONCURRENCY);
    await Promise.all(
      moves.map((move) =>
        limit(async () => {
          const done = await this.applyOne(move, input);
          if (done !== undefined) into.push(done);
        }),
      ),
    );
  }

  /** Patches one Service, re-planned on a fresh read after a conflict; a failure is reported and swallowed. */
  private async applyOne(first: ServiceMove, input: HostPartInput): Promise<AppliedMove | undefined> {
    let move = first;
    try {
      return await retryOnConflict(async (conflicts) => {
        if (conflicts > 0) {
          const fresh = await this.reread(move);
          if (typeof fresh === 'string') return this.notMoved(move, fresh);
          // Our own patch, applied although its answer was lost: undone like any other.
          if (carries(fresh, move.set)) return { move, after: fresh };
          const replanned = planHostParts([fresh], input).moves[0];
          if (replanned === undefined) return undefined;
          move = replanned;
        }
        const after = await this.api.patch(refOf(move), move.resourceVersion, move.set);
        this.services?.set(keyOf(after), after);
        return { move, after };
      });
    } catch (error) {
      return this.notMoved(move, error);
    }
  }

  /** The Service as it is now, or why there is nothing left to move. */
  private async reread(move: ServiceMove): Promise<LoadBalancerService | string> {
    const key = keyOf(move);
    try {
      const fresh = await this.api.get(refOf(move));
      if (fresh === undefined) {
        this.services?.delete(key);
        return `Service ${key} is no longer of type LoadBalancer`;
      }
      this.services?.set(key, fresh);
      return fresh;
    } catch (error) {
      if (error instanceof ServiceGoneError) this.services?.delete(key);
      return errorText(error);
    }
  }

  /** Reports a Service left as it was; one whose patch may have landed is kept for the undo. */
  private notMoved(move: ServiceMove, error: unknown): AppliedMove | undefined {
    const reason = typeof error === 'string' ? error : errorText(error);
    const addresses = move.moved.length === 0 ? ['-'] : move.moved.map((m) => m.from);
    for (const address of addresses) this.failed.push({ service: keyOf(move), address, reason });
    if (error instanceof ServiceGoneError) this.services?.delete(keyOf(move));
    return typeof error !== 'string' && maybeApplied(error) ? { move, after: undefined } : undefined;
  }

  /**
   * Puts back what each move replaced, where the Service still carries what we wrote; a Service
   * someone changed since keeps their change. Returns what could not be put back, for the report.
   */
  async undo(): Promise<string[]> {
    const limit = pLimit(SERVICE_PATCH_CONCURRENCY);
    if (this.undone) return [];
    const applied = this.applied;
    const left = await Promise.all(applied.map((a) => limit(() => this.undoOne(a))));
    this.undone = applied.length > 0;
    return left.filter((l): l is string => l !== undefined);
  }

  /** The Service part of the result document; undefined when the run had no Services to look at. */
  report(): ServiceReport | undefined {
    if (!this.active) return undefined;
    const planned = this.dryRun ? this.planned : [];
    // A patch whose answer was lost is reported as not kept; it is only undone like the others.
    const answered = this.applied.filter((a) => a.after !== undefined).map((a) => a.move);
    const moves = [...this.repaired, ...planned, ...answered];
    return {
      mode: this.mode,
      changed: moves.map((m): ServiceChange => ({ service: keyOf(m), kind: m.kind, moved: m.moved })),
      notKept: [...this.notKept, ...this.failed],
      ...(this.skipped === undefined ? {} : { skipped: this.skipped }),
      ...(this.undone ? { undone: true } : {}),
    };
  }

  private async undoOne({ move, after }: AppliedMove): Promise<string | undefined> {
    const key = keyOf(move);
    try {
      return await retryOnConflict(async (conflicts) => {
        const current = conflicts === 0 && after !== undefined ? after : await this.reread(move);
        if (typeof current === 'string') return `putting Service ${key} back failed: ${current}`;
        if (!carries(current, move.set))
          return after === undefined
            ? undefined
            : `Service ${key} was changed since we moved it, and keeps that change`;
        const restored = await this.api.patch(refOf(move), current.resourceVersion, move.was);
        this.services?.set(key, restored);
        return undefined;
      });
    } catch (error) {
      return `putting Service ${key} back failed: ${errorText(error)}`;
    }
  }
}

/** True while the Service still has every field as `fields` set it. */
function carries(service: LoadBalancerService, fields: PinFields): boolean {
  const annotations = Object.entries(fields.annotations).every(
    ([name, value]) => (service.annotations[name] ?? null) === value,
  );
  return (
    annotations && (fields.loadBalancerIP === undefined || service.loadBalancerIP === fields.loadBalancerIP)
  );
}
