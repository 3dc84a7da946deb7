import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import path from 'node:path';
import {
  controlPlaneBinaries,
  REPO_ROOT,
  testKubernetesVersion,
  type KubernetesVersion,
} from './binaries.js';
import { kubeconfigYaml, type ClusterAccess } from './kubeconfig.js';
import { generatePki, type Pki } from './pki.js';
import { freePort } from './ports.js';
import { ManagedProcess } from './process.js';

export interface ControlPlaneOptions {
  /** Extra kube-apiserver flags, e.g. an authentication webhook. */
  apiserverArgs?: string[];
  /** Where run folders go; each run gets a fresh one, removed on stop. */
  runRoot?: string;
  /** Default: $METALLB_DYN6_TEST_KUBERNETES, else 1.20. */
  kubernetes?: KubernetesVersion;
}

export interface AuditEvent {
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestURI: string;
}

export interface ControlPlane extends ClusterAccess {
  runDir: string;
  adminToken: string;
  adminKubeconfig: string;
  auditLog: string;
  stop(): Promise<void>;
}

/**
 * Requests the apiserver recorded for one user, oldest first. A missing log throws: "no requests"
 * must never come from a log that is not there.
 */
export function readAuditEvents(auditLog: string, username: string): AuditEvent[] {
  if (!existsSync(auditLog)) throw new Error(`the apiserver's audit log ${auditLog} does not exist`);
  // Skip parsing lines that cannot be this user's: those without the name as a JSON string. Only
  // for names Go's JSON encoder writes verbatim (it escapes quotes, backslashes, controls, <, >, &).
  const verbatim = /^[\w:.@/+=,-]+$/.test(username);
  const needle = `"${username}"`;
  return readFileSync(auditLog, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && (!verbatim || line.includes(needle)))
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter((e) => e.user.username === username);
}

const ADMIN_USER = 'metallb-dyn6-test-admin';

/**
 * etcd syncs every write to disk; on a busy CI disk one sync can take seconds, which tests with
 * short request timeouts would read as a stalled API. The data is thrown away on stop, so it lives
 * in memory (tmpfs) where the machine has one.
 */
function etcdDataDir(runDir: string): string {
  try {
    return mkdtempSync('/dev/shm/metallb-dyn6-etcd-');
  } catch {
    return path.join(runDir, 'etcd-data');
  }
}

function get(url: string, options: https.RequestOptions = {}): Promise<number> {
  const lib = url.startsWith('https:') ? https : http;
  return new Promise((resolve) => {
    const req = lib.get(url, { ...options, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => {
      resolve(0);
    });
    req.on('timeout', () => req.destroy());
  });
}

async function waitFor(
  what: string,
  proc: ManagedProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!proc.running) throw new Error(`${what} exited during start-up:\n${proc.tail()}`);
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms:\n${proc.tail()}`);
}

/** One start of the control plane: its binaries, its run folder and the processes started so far. */
interface PlaneRun {
  bin: ReturnType<typeof controlPlaneBinaries>;
  /** Flags 1.20 needs and later versions removed: its insecure ports, and dual-stack behind a gate. */
  legacy: boolean;
  runDir: string;
  file: (name: string) => string;
  started: ManagedProcess[];
}

/** Starts a process of the control plane, to be stopped with the others. */
function startProcess(run: PlaneRun, name: string, binary: string, args: string[]): ManagedProcess {
  const proc = new ManagedProcess(name, binary, args, run.file(`${name}.log`));
  run.started.push(proc);
  return proc;
}

/** The admin's token file and the audit policy: the apiserver's token authentication and audit log. */
function writeAuthFiles(run: PlaneRun): string {
  const adminToken = randomBytes(24).toString('hex');
  writeFileSync(run.file('tokens.csv'), `${adminToken},${ADMIN_USER},${ADMIN_USER},"system:masters"\n`);
  writeFileSync(
    run.file('audit-policy.yaml'),
    'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: ["RequestReceived", "ResponseStarted"]\nrules:\n- level: Metadata\n',
  );
  return adminToken;
}

async function startEtcd(run: PlaneRun, dataDir: string, etcdPort: number, peerPort: number): Promise<void> {
  const etcd = startProcess(run, 'etcd', run.bin.etcd, [
    '--name=default',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
    `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
    '--log-level=warn',
  ]);
  await waitFor('etcd', etcd, async () => (await get(`http://127.0.0.1:${etcdPort}/health`)) === 200, 30_000);
}

function apiserverArgs(run: PlaneRun, pki: Pki, etcdPort: number, apiPort: number): string[] {
  const { legacy, runDir, file } = run;
  return [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    ...(legacy ? ['--insecure-port=0'] : []),
    `--cert-dir=${runDir}`,
    `--tls-cert-file=${pki.servingCert}`,
    `--tls-private-key-file=${pki.servingKey}`,
    `--client-ca-file=${pki.caCert}`,
    `--token-auth-file=${file('tokens.csv')}`,
    '--authorization-mode=RBAC',
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    // Dual-stack (alpha in 1.20), so Services can be IPv6 LoadBalancers like a home lab's.
    ...(legacy ? ['--feature-gates=IPv6DualStack=true'] : []),
    '--service-cluster-ip-range=10.0.0.0/24,fd00:10:96::/112',
    '--endpoint-reconciler-type=none',
    // No token controller runs, so pods cannot get legacy service-account token volumes.
    '--disable-admission-plugins=ServiceAccount',
    '--allow-privileged=true',
    `--audit-policy-file=${file('audit-policy.yaml')}`,
    `--audit-log-path=${file('audit.log')}`,
    '--audit-log-mode=blocking',
    '--v=0',
  ];
}

async function startApiserver(run: PlaneRun, args: string[], server: string, auth: https.RequestOptions) {
  const apiserver = startProcess(run, 'kube-apiserver', run.bin['kube-apiserver'], args);
  await waitFor(
    'kube-apiserver',
    apiserver,
    async () => (await get(`${server}/readyz`, auth)) === 200,
    60_000,
  );
}

async function startControllerManager(run: PlaneRun, adminKubeconfig: string): Promise<void> {
  const controllerManager = startProcess(run, 'kube-controller-manager', run.bin['kube-controller-manager'], [
    `--kubeconfig=${adminKubeconfig}`,
    '--secure-port=0',
    ...(run.legacy ? ['--port=0'] : []),
    '--leader-elect=false',
    // endpointslicemirroring: a Service without a selector gets the EndpointSlices of the Endpoints
    // written for it, in the API version this Kubernetes serves (the home network's backend).
    '--controllers=deployment,replicaset,daemonset,garbagecollector,namespace,podgc,endpointslicemirroring',
    `--cert-dir=${run.runDir}`,
    '--v=0',
  ]);
  // The controller manager has no serving port here; give it a moment and make sure it lives.
  await new Promise((r) => setTimeout(r, 300));
  if (!controllerManager.running)
    throw new Error(`kube-controller-manager exited:\n${controllerManager.tail()}`);
}

/**
 * Starts etcd, kube-apiserver and kube-controller-manager on 127.0.0.1 with fresh data, its own
 * CA, token authentication, RBAC and an audit log. Only the processes started here are stopped.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const kubernetes = options.kubernetes ?? testKubernetesVersion();
  const bin = controlPlaneBinaries(kubernetes);
  const runRoot = options.runRoot ?? path.join(REPO_ROOT, '.run');
  const runDir = path.join(runRoot, `cluster-${randomBytes(4).toString('hex')}`);
  mkdirSync(runDir, { recursive: true });
  const file = (name: string) => path.join(runDir, name);
  const run: PlaneRun = {
    bin,
    legacy: kubernetes === '1.20',
    runDir,
    file,
    started: [],
  };
  const etcdData = etcdDataDir(runDir);
  const stopAll = async () => {
    for (const p of run.started.reverse()) await p.stop();
    rmSync(etcdData, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  };

  try {
    const pki = generatePki(runDir);
    const [etcdPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const adminToken = writeAuthFiles(run);
    await startEtcd(run, etcdData, etcdPort, etcdPeerPort);

    const server = `https://127.0.0.1:${apiPort}`;
    const args = [...apiserverArgs(run, pki, etcdPort, apiPort), ...(options.apiserverArgs ?? [])];
    await startApiserver(run, args, server, {
      headers: { Authorization: `Bearer ${adminToken}` },
      ca: pki.caPem,
    });

    const access: ClusterAccess = { server, caPem: pki.caPem };
    const adminKubeconfig = file('admin.kubeconfig');
    writeFileSync(adminKubeconfig, kubeconfigYaml(access, ADMIN_USER, adminToken), { mode: 0o600 });
    await startControllerManager(run, adminKubeconfig);

    return {
      ...access,
      runDir,
      adminToken,
      adminKubeconfig,
      auditLog: file('audit.log'),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
