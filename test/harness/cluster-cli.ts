// npm run cluster -- up|down|status: a local control plane with MetalLB fixtures, for trying the tool.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { controlPlaneBinaries, REPO_ROOT } from './binaries.js';
import { CLUSTER_STATE_FILE, isAlive, runningCluster } from './cluster-state.js';

const LOG = path.join(REPO_ROOT, '.run', 'cluster-daemon.log');

async function up(): Promise<number> {
  const existing = runningCluster();
  if (existing !== undefined) {
    console.log(existing.kubeconfig);
    return 0;
  }
  controlPlaneBinaries();
  mkdirSync(path.dirname(LOG), { recursive: true });
  rmSync(CLUSTER_STATE_FILE, { force: true });
  const log = openSync(LOG, 'w');
  const daemon = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(REPO_ROOT, 'test/harness/cluster-daemon.ts')],
    { detached: true, stdio: ['ignore', log, log], cwd: REPO_ROOT },
  );
  daemon.unref();
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const state = runningCluster();
    if (state !== undefined) {
      console.error(
        `cluster running (pid ${String(state.pid)}, ${state.server}); stop it with: npm run cluster -- down`,
      );
      console.error(`  export KUBECONFIG=${state.kubeconfig}`);
      console.log(state.kubeconfig);
      return 0;
    }
    if (daemon.pid === undefined || !isAlive(daemon.pid)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  console.error(`cluster did not start; its log (${LOG}):\n${readFileSync(LOG, 'utf8')}`);
  if (daemon.pid !== undefined && isAlive(daemon.pid)) process.kill(daemon.pid, 'SIGTERM');
  return 1;
}

async function down(): Promise<number> {
  const state = runningCluster();
  if (state === undefined) {
    rmSync(CLUSTER_STATE_FILE, { force: true });
    console.error('no cluster running');
    return 0;
  }
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (isAlive(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(state.pid)) {
    console.error(`cluster daemon ${String(state.pid)} did not stop`);
    return 1;
  }
  console.error('cluster stopped');
  return 0;
}

const command = process.argv[2];
const commands: Record<string, () => Promise<number>> = {
  up,
  down,
  status: () => {
    const state = runningCluster();
    console.log(state === undefined ? 'no cluster running' : JSON.stringify(state, null, 2));
    return Promise.resolve(0);
  },
};
const run = command === undefined ? undefined : commands[command];
if (run === undefined) {
  console.error('usage: npm run cluster -- up | down | status');
  process.exitCode = 2;
} else {
  process.exitCode = await run();
}
