import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './binaries.js';

export const CLUSTER_STATE_FILE = path.join(REPO_ROOT, '.run', 'cluster.json');

export interface ClusterState {
  pid: number;
  kubeconfig: string;
  server: string;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The cluster `cluster up` left running, if it still runs. */
export function runningCluster(): ClusterState | undefined {
  if (!existsSync(CLUSTER_STATE_FILE)) return undefined;
  const state = JSON.parse(readFileSync(CLUSTER_STATE_FILE, 'utf8')) as ClusterState;
  return isAlive(state.pid) ? state : undefined;
}
