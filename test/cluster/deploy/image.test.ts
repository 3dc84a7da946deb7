// The released image as a registry would serve it: built by scripts/build-image.sh without a Docker
// daemon, read back from its OCI layout, unpacked layer by layer, and its entrypoint run from that
// filesystem as the pod would run it — chrooted as user 65532, the arm64 one under qemu's user-mode
// emulation — against the test apiserver.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { REPO_ROOT } from '../../../devcluster/binaries.js';
import { goToBuild, onPath } from '../../../devcluster/metallb-runtime.js';
import { auditTrail } from '../../../devcluster/shared-cluster.js';
import { lastResult } from '../../../devcluster/cli.js';
import { describeIf } from '../../support/declared-skips.js';
import { podEnv, SERVICE_ACCOUNT_MOUNT, writeServiceAccountFiles } from '../../support/pod-credentials.js';
import { runProcess, runToSuccess, startProcess } from '../../../devcluster/run-process.js';
import { freePort } from '../../../devcluster/ports.js';
import { homeCluster, range, SUBNET_NEW } from '../../../devcluster/home-cluster.js';
import { envOf, imageFor as readImage, indexDigest, unpackImage } from '../../../devcluster/oci-image.js';

const ARCHES = ['amd64', 'arm64'] as const;
type Arch = (typeof ARCHES)[number];
// ELF e_machine of the CPU each image is for.
const ELF_MACHINE: Record<Arch, number> = { amd64: 0x3e, arm64: 0xb7 };

let layout: string;
let work: string;

const imageFor = (arch: Arch) => readImage(layout, arch);
const unpack = (arch: Arch) => unpackImage(layout, arch, path.join(work, `rootfs-${arch}`));

/** The program on this machine's PATH: the run's own PATH is the image's. */
function hostCommand(name: string): string {
  const found = onPath(name);
  if (found === undefined)
    throw new Error(`${name} is not installed (scripts/provision-test-tools.sh installs it)`);
  return found;
}

/**
 * How to start a program of `arch` chrooted into `root`: directly on amd64; on arm64 through qemu's
 * user-mode emulator (no binfmt_misc here), copied with the host libraries it links against into
 * /.emulator beside the image's files, so the guest program sees only the image's filesystem.
 */
function emulatorFor(arch: Arch, root: string): string[] {
  if (arch === 'amd64') return [];
  const qemu = hostCommand('qemu-aarch64');
  const libraries = [...execFileSync('ldd', [qemu], { encoding: 'utf8' }).matchAll(/(\/\S+) \(0x/g)].map(
    (m) => m[1] ?? '',
  );
  const dir = path.join(root, '.emulator');
  mkdirSync(dir, { recursive: true });
  for (const file of [qemu, ...libraries]) copyFileSync(file, path.join(dir, path.basename(file)));
  const loader = libraries.find((l) => path.basename(l).startsWith('ld-linux')) ?? '';
  return [`/.emulator/${path.basename(loader)}`, '--library-path', '/.emulator', '/.emulator/qemu-aarch64'];
}

/** The Dockerfile's runtime stage, as `docker build` would configure the image. */
function dockerfileRuntime(): { entrypoint: string[]; cmd: string[]; user: string; env: string[] } {
  const stages = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8').split(/^FROM /m);
  const last = stages[stages.length - 1] ?? '';
  const line = (word: string) => new RegExp(`^${word} (.+)$`, 'm').exec(last)?.[1] ?? '';
  return {
    entrypoint: JSON.parse(line('ENTRYPOINT')) as string[],
    cmd: JSON.parse(line('CMD')) as string[],
    user: line('USER'),
    env: [...last.matchAll(/^ENV (\S+)=(\S+)$/gm)].map((m) => `${m[1] ?? ''}=${m[2] ?? ''}`),
  };
}

describeIf(goToBuild('crane', '1.26'), 'no-go-toolchain', 'the container image built without Docker', () => {
  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'metallb-dyn6-image-'));
    layout = path.join(work, 'layout');
    await runToSuccess('bash', [path.join(REPO_ROOT, 'scripts/build-image.sh'), layout], {
      env: process.env,
      cwd: REPO_ROOT,
      timeoutMs: 900_000,
    });
  }, 900_000);

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('is one OCI index holding a linux/amd64 and a linux/arm64 image', () => {
    const top = JSON.parse(readFileSync(path.join(layout, 'oci-layout'), 'utf8')) as {
      imageLayoutVersion: string;
    };
    expect(top.imageLayoutVersion).toBe('1.0.0');
    for (const arch of ARCHES) {
      const { config } = imageFor(arch);
      expect([config.os, config.architecture]).toEqual(['linux', arch]);
    }
  });

  it.each(ARCHES)('%s: runs as the Dockerfile says (entrypoint, command, user, environment)', (arch) => {
    const { config } = imageFor(arch).config;
    const dockerfile = dockerfileRuntime();
    expect(config.Entrypoint).toEqual(dockerfile.entrypoint);
    expect(config.Cmd).toEqual(dockerfile.cmd);
    expect(config.User).toBe(dockerfile.user);
    expect(config.Env).toEqual(expect.arrayContaining(dockerfile.env));
  });

  it.each(ARCHES)('%s: carries a Node.js 22 binary built for that CPU', async (arch) => {
    const root = await unpack(arch);
    const node = readFileSync(path.join(root, 'nodejs/bin/node'));
    expect(node.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(node.readUInt16LE(18)).toBe(ELF_MACHINE[arch]);
  });

  it.each(ARCHES)(
    "%s: ships a compile cache that the image's Node reads as the image's user, for the command and the program",
    async (arch) => {
      const root = await unpack(arch);
      const { config } = imageFor(arch).config;
      const env = envOf(config);
      const launch = [
        'chroot',
        `--userspec=${config.User}`,
        root,
        ...emulatorFor(arch, root),
        ...config.Entrypoint,
      ];
      // Node's own account of its compile cache: which file's cache it found and whether V8 took it.
      const run = await runProcess(hostCommand('chroot'), [...launch.slice(1), '--help'], {
        env: { ...env, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' },
        timeoutMs: 120_000,
      });
      expect(run.code).toBe(0);
      for (const file of ['cli.mjs', 'main.mjs'])
        expect(run.stderr).toContain(`cache for file:///app/${file} was accepted`);
      expect(run.stderr).not.toMatch(/rejected|mismatch|failed/i);
    },
    180_000,
  );

  it('is the same image, digest for digest, when built again', async () => {
    const again = path.join(work, 'again');
    await runToSuccess('bash', [path.join(REPO_ROOT, 'scripts/build-image.sh'), again], {
      env: process.env,
      cwd: REPO_ROOT,
      timeoutMs: 900_000,
    });
    expect(indexDigest(again)).toBe(indexDigest(layout));
  }, 900_000);

  it.each(ARCHES)(
    '%s: its entrypoint syncs the pool from the unpacked filesystem, as the CronJob pod',
    async (arch) => {
      const home = await homeCluster(`image-${arch}`);
      const root = await unpack(arch);
      writeServiceAccountFiles(path.join(root, SERVICE_ACCOUNT_MOUNT), home);
      const { config } = imageFor(arch).config;
      const [entry = '', ...entryArgs] = [...config.Entrypoint, ...config.Cmd];
      const env = {
        ...envOf(config),
        ...podEnv(home, '/home/nonroot'),
      };
      const launch = [
        'chroot',
        `--userspec=${config.User}`,
        root,
        ...emulatorFor(arch, root),
        entry,
        ...entryArgs,
      ];
      const run = await runProcess(hostCommand(launch[0] ?? ''), launch.slice(1), {
        env,
        timeoutMs: 120_000,
      });
      // stderr only shown when the run failed: it is the message to read then.
      expect({
        code: run.code,
        status: lastResult(run.stdout)?.status,
        stderr: run.code === 0 ? '' : run.stderr,
      }).toEqual({ code: 0, status: 'updated', stderr: '' });
      expect((await home.readPool()).spec.addresses).toEqual(['192.168.178.240/28', range(SUBNET_NEW)]);
      expect(await auditTrail(home.username)).toContain('patch ipaddresspools 200');
    },
    180_000,
  );

  it('amd64: runs `serve` as it is, as OpenFaaS starts it (the command from the environment, the port from PORT)', async () => {
    const home = await homeCluster('image-serve');
    const root = await unpack('amd64');
    writeServiceAccountFiles(path.join(root, SERVICE_ACCOUNT_MOUNT), home);
    const { config } = imageFor('amd64').config;
    const port = await freePort();
    const token = 'image-serve-token-0123456789';
    const env = {
      ...envOf(config),
      ...podEnv(home, '/home/nonroot'),
      // The platform's PORT alone, as Knative and faas-netes give it (the tests' default names another).
      METALLB_DYN6_PORT: '',
      METALLB_DYN6_COMMAND: 'serve',
      METALLB_DYN6_HTTP_TOKEN: token,
      PORT: String(port),
    };
    // The image's command is `sync`: a platform that cannot pass arguments starts the entrypoint alone.
    const launch = ['chroot', `--userspec=${config.User}`, root, ...config.Entrypoint];
    const served = startProcess(hostCommand('chroot'), launch.slice(1), { env, timeoutMs: 120_000 });
    try {
      const base = `http://127.0.0.1:${String(port)}`;
      // Ready once it answers its probe; an exit before that is the failure, with what it printed.
      const deadline = Date.now() + 30_000;
      let ready: number | string = 'no answer';
      while (ready !== 200 && served.child.exitCode === null && Date.now() < deadline) {
        ready = await fetch(`${base}/_/ready`).then(
          (r) => r.status,
          (error: unknown) => String(error),
        );
        if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect({ ready, stderr: ready === 200 ? '' : served.output().stderr }).toEqual({
        ready: 200,
        stderr: '',
      });
      const sync = await fetch(`${base}/`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      expect(await sync.json()).toMatchObject({ status: 'updated', trigger: 'http' });
      expect((await home.readPool()).spec.addresses).toEqual(['192.168.178.240/28', range(SUBNET_NEW)]);
      expect(await (await fetch(`${base}/metrics`)).text()).toContain('metallb_dyn6_pool_writes_total 1');
    } finally {
      served.child.kill('SIGTERM');
    }
    expect((await served.done).code).toBe(0);
  }, 180_000);
});
