// The one place that says which tests may be skipped, and why. A suite skips only through
// describeIf with an id declared here; the skip is recorded in .run/skips.jsonl, and .ci/run prints
// every recorded skip with its reason and fails on any skipped test that was not declared this way.
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from '@jest/globals';
import { REPO_ROOT } from '../../devcluster/binaries.js';

export const DECLARED_SKIPS = {
  'no-go-toolchain':
    'no Go toolchain on this machine, so MetalLB, helm and crane cannot be built from the Go module proxy and the real-controller, Helm and container-image tests cannot run (with CI=true this fails instead)',
  'plane-too-old':
    'the test control plane of this run is older than what the upstream release under test supports; the current plane (METALLB_DYN6_TEST_KUBERNETES=1.37, which CI runs) tests it',
  'plane-without-api':
    'the test control plane of this run does not serve an API the objects under test are made of (ValidatingAdmissionPolicy is served from Kubernetes 1.30); the current plane (METALLB_DYN6_TEST_KUBERNETES=1.37, which CI runs) tests them',
  'no-network-namespaces':
    'this machine cannot create network namespaces (needs root or CAP_SYS_ADMIN and iproute2), so the interface: source is not tested against a real kernel here',
  'no-home-network':
    'this machine cannot build the home network (network namespaces as root, and dhcpd, dhclient, radvd, socat, curl and nft, which scripts/provision-test-tools.sh installs), so the end-to-end renumbering is not run here (with CI=true this fails instead)',
} as const satisfies Record<string, string>;

export type SkipId = keyof typeof DECLARED_SKIPS;

/** Where skips are recorded, one JSON object a line: { id, reason, detail, file, title }. */
export const SKIPS_FILE = path.join(REPO_ROOT, '.run', 'skips.jsonl');

export interface SkipRecord {
  id: SkipId;
  reason: string;
  /** What this machine said, e.g. the error that made the condition false. */
  detail: string;
  /** The test file, relative to the repository. */
  file: string;
  /** The title of the skipped describe block. */
  title: string;
}

/** A condition that holds, or the reason it does not. */
export type Condition = true | { unavailable: string };

/** Records a declared skip of the describe block `title` in the running test file. */
export function recordSkip(id: SkipId, title: string, detail: string): SkipRecord {
  // Declared ids are checked by the compiler; this catches casts and plain-JavaScript callers.
  if (!Object.hasOwn(DECLARED_SKIPS, id))
    throw new Error(`skip id "${id}" is not declared in declared-skips.ts`);
  const testPath = expect.getState().testPath;
  if (testPath === undefined) throw new Error('recordSkip runs inside a jest test file only');
  const record: SkipRecord = {
    id,
    reason: DECLARED_SKIPS[id],
    detail,
    file: path.relative(REPO_ROOT, testPath),
    title,
  };
  mkdirSync(path.dirname(SKIPS_FILE), { recursive: true });
  appendFileSync(SKIPS_FILE, `${JSON.stringify(record)}\n`);
  return record;
}

/**
 * `describe` when the condition holds; otherwise `describe.skip`, with the skip recorded under a
 * declared id so CI reports it with its reason instead of passing silently.
 */
export function describeIf(condition: Condition, id: SkipId, title: string, fn: () => void): void {
  if (condition === true) {
    describe(title, fn);
    return;
  }
  const record = recordSkip(id, title, condition.unavailable);
  console.warn(`SKIPPED "${title}" [${id}]: ${record.reason} (${record.detail})`);
  describe.skip(title, fn);
}
