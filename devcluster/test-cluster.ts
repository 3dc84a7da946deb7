import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control-plane.js';
import { startKubeletSim } from './kubelet-sim.js';
import { CRD_RELEASE, goAvailable, MetalLBRuntime, metallbRelease } from './metallb-runtime.js';
import {
  createNodes,
  installMetalLB,
  installPoolCrd,
  installReleaseCrds,
  type FixtureNode,
} from './metallb-fixture.js';

export interface TestCluster extends ControlPlane {
  admin: KubeConfig;
  /** Runs MetalLB's real processes for the cluster's pods (see metallb-runtime.ts). */
  runtime: MetalLBRuntime;
}

export interface TestClusterOptions extends ControlPlaneOptions {
  /** Also install MetalLB (this release) in metallb-system, as `cluster up` and the demo do. */
  metallbVersion?: string;
  /** ...running its real controller (built from the Go module proxy on first use). */
  realMetalLB?: boolean;
  /** The cluster's nodes (default: three home-lab nodes). */
  nodes?: FixtureNode[];
}

/**
 * A control plane that looks like a home-lab cluster running MetalLB: the IPAddressPool CRD, Ready
 * nodes and a simulated kubelet, optionally MetalLB itself.
 */
export async function startTestCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const plane = await startControlPlane(options);
  const admin = new KubeConfig();
  admin.loadFromFile(plane.adminKubeconfig);
  const runtime = new MetalLBRuntime(plane.adminKubeconfig, plane.runDir);
  const kubelet = startKubeletSim(admin, runtime);
  try {
    // MetalLB's own CRDs when Go can build its release; else the copy of its IPAddressPool CRD
    // (the real-controller tests then skip, or fail under CI=true).
    if (goAvailable()) await installReleaseCrds(admin, metallbRelease(CRD_RELEASE));
    else await installPoolCrd(admin);
    await createNodes(admin, options.nodes);
    if (options.metallbVersion !== undefined) {
      const real = options.realMetalLB === true;
      if (real) await installReleaseCrds(admin, metallbRelease(options.metallbVersion));
      await installMetalLB(admin, { version: options.metallbVersion, real });
    }
  } catch (error) {
    await kubelet.stop();
    await plane.stop();
    throw error;
  }
  return {
    ...plane,
    admin,
    runtime,
    async stop() {
      await kubelet.stop();
      await plane.stop();
    },
  };
}
