// Stable host numbering, the imperative half: lists the Services once per run, patches the moves the
// pure planner asks for (bounded, each at its resourceVersion, re-planned on a conflict), and undoes
// them when the pool write or MetalLB fails. The pool is never held back by a missing permission:
// then the Services are left as they are and the run says what to grant.
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
import { podImages, type MetalLBApi } from '../cluster/metallb-pods.js';
import { metallbImage, pinAnnotationFor } from '../cluster/metallb-version.js';
import { MAX_CONFLICTS } from '../cluster/owned-pool.js';
import {
  ServiceConflictError,
  ServicePermissionError,
  type ServiceApi,
  type ServiceRef,
} from '../cluster/service-client.js';
import type { ServiceChange, ServiceReport } from './result.js';

/** Service patches in flight at once: enough to move hundreds in seconds, few enough for any apiserver. */
export const SERVICE_PATCH_CONCURRENCY = 8;

export interface AppliedMove {
  move: ServiceMove;
  /** The Service as our patch left it. */
  after: LoadBalancerService;
}

const refOf = (s: { namespace: string; name: string }): ServiceRef => ({
  namespace: s.namespace,
  name: s.name,
});
const keyOf = (s: { namespace: string; name: string }) => `${s.namespace}/${s.name}`;

/** One run's dealings with the Services: what it listed, moved, could not keep, and put back. */
export class HostPartKeeper {
  /** The one LIST of the run, updated with every answer to our patches. */
  private services: Map<string, LoadBalancerService> | undefined;
  private applied: AppliedMove[] = [];
  /** A dry run's moves, for the report. */
  private planned: ServiceMove[] = [];
  private notKept: NotKept[] = [];
  private skipped: string | undefined;
  private undone = false;
  private active = false;

  /** The pin annotation this run writes, from MetalLB's version. */
  private pinWith: string | undefined;

  constructor(
    private readonly api: ServiceApi,
    private readonly metallb: MetalLBApi,
    readonly mode: KeepMode,
  ) {}

  /**
   * Moves the Services for the pool moving as `input` says (a dry run only plans); `metallbImage`,
   * when the run already knows it, saves looking at MetalLB's pods again. A Service
   * changed since the LIST is read again and planned again. When a patch fails, every move of the
   * run is undone and the failure thrown, except a refused permission: then the Services are left
   * as they were, the report says what to grant, and the pool goes on without them.
   */
  async keep(
    input: Omit<HostPartInput, 'mode' | 'pinWith'>,
    dryRun: boolean,
    metallbImage?: string,
  ): Promise<void> {
    if (this.mode === 'none' || this.skipped !== undefined) return;
    this.active = true;
    this.pinWith ??=
      metallbImage === undefined ? await this.installedPinAnnotation() : pinAnnotationFor(metallbImage);
    const full = { ...input, mode: this.mode, pinWith: this.pinWith };
    try {
      this.services ??= new Map((await this.api.list()).map((s) => [keyOf(s), s]));
    } catch (error) {
      if (!(error instanceof ServicePermissionError)) throw error;
      this.skipped = error.message;
      return;
    }
    const plan = planHostParts([...this.services.values()], full);
    this.notKept = plan.notKept;
    if (dryRun) {
      this.planned = plan.moves;
      return;
    }
    const problem = await this.applyAll(plan.moves, full);
    if (problem === undefined) return;
    const left = await this.undo();
    const residue = left.length === 0 ? '' : `; ${left.join('; ')}`;
    if (problem instanceof ServicePermissionError) {
      this.skipped = `${problem.message}${residue}`;
      return;
    }
    throw new Error(`${errorText(problem)}; the Services moved before it were put back${residue}`);
  }

  /** Patches the moves, 8 at a time; after the first failure no new one starts. Returns that failure. */
  private async applyAll(moves: readonly ServiceMove[], input: HostPartInput): Promise<unknown> {
    const limit = pLimit(SERVICE_PATCH_CONCURRENCY);
    const outcomes = await Promise.allSettled(
      moves.map((move) =>
        limit(async () => {
          const done = await this.applyOne(move, input);
          if (done !== undefined) this.applied.push(done);
        }).catch((error: unknown) => {
          limit.clearQueue();
          throw error;
        }),
      ),
    );
    return outcomes.find((o) => o.status === 'rejected')?.reason as unknown;
  }

  /** MetalLB's version from its pods' images; when they cannot be read, the old annotation every release reads. */
  private async installedPinAnnotation(): Promise<string> {
    try {
      return pinAnnotationFor(metallbImage(podImages((await this.metallb.list()).items)));
    } catch {
      return pinAnnotationFor(undefined);
    }
  }

  private async applyOne(first: ServiceMove, input: HostPartInput): Promise<AppliedMove | undefined> {
    let move: ServiceMove | undefined = first;
    for (let conflicts = 0; move !== undefined; conflicts++) {
      try {
        const after = await this.api.patch(refOf(move), move.resourceVersion, move.set);
        this.services?.set(keyOf(after), after);
        return { move, after };
      } catch (error) {
        if (!(error instanceof ServiceConflictError) || conflicts >= MAX_CONFLICTS) throw error;
        const fresh = await this.api.get(refOf(move));
        this.services?.set(keyOf(fresh), fresh);
        move = planHostParts([fresh], input).moves[0];
      }
    }
    return undefined;
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
    const moves = [...this.planned, ...this.applied.map((a) => a.move)];
    return {
      mode: this.mode,
      changed: moves.map((m): ServiceChange => ({ service: keyOf(m), kind: m.kind, moved: m.moved })),
      notKept: this.notKept,
      ...(this.skipped === undefined ? {} : { skipped: this.skipped }),
      ...(this.undone ? { undone: true } : {}),
    };
  }

  private async undoOne({ move, after }: AppliedMove): Promise<string | undefined> {
    const key = keyOf(move);
    let current = after;
    for (let conflicts = 0; ; conflicts++) {
      if (!carries(current, move.set))
        return `Service ${key} was changed since we moved it, and keeps that change`;
      try {
        const restored = await this.api.patch(refOf(move), current.resourceVersion, move.was);
        this.services?.set(key, restored);
        return undefined;
      } catch (error) {
        if (!(error instanceof ServiceConflictError) || conflicts >= MAX_CONFLICTS)
          return `putting Service ${key} back failed: ${errorText(error)}`;
        current = await this.api.get(refOf(move)).catch(() => current);
      }
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
