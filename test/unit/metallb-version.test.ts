import { describe, expect, it } from '@jest/globals';
import {
  compareVersions,
  decideReload,
  metallbImage,
  pinAnnotationFor,
  versionOfImage,
} from '../../lib/cluster/metallb-version.js';

describe('MetalLB version detection', () => {
  it.each([
    ['quay.io/metallb/controller:v0.14.9', { major: 0, minor: 14, patch: 9 }],
    ['quay.io/metallb/controller:v0.13.12@sha256:abc', { major: 0, minor: 13, patch: 12 }],
    ['registry:5000/metallb/controller:0.14.2-rc1', { major: 0, minor: 14, patch: 2 }],
    ['registry:5000/metallb/controller', undefined],
    ['quay.io/metallb/controller:main', undefined],
    ['quay.io/metallb/controller@sha256:abc', undefined],
    ['quay.io/metallb/controller:v10.13.1', { major: 10, minor: 13, patch: 1 }],
    ['quay.io/metallb/controller:xv0.13.12', undefined],
    ['quay.io/metallb/controller:v0.13.12x', undefined],
    ['registry:5000/metallb/controller:main', undefined],
  ])('reads %s', (image, version) => {
    expect(versionOfImage(image)).toEqual(version);
  });

  it('prefers the controller image, then the speaker', () => {
    expect(metallbImage(['quay.io/metallb/speaker:v0.13.1', 'quay.io/metallb/controller:v0.14.9'])).toBe(
      'quay.io/metallb/controller:v0.14.9',
    );
    expect(metallbImage(['quay.io/frrouting/frr:9', 'quay.io/metallb/speaker:v0.13.1'])).toBe(
      'quay.io/metallb/speaker:v0.13.1',
    );
    expect(metallbImage(['nginx:1'])).toBeUndefined();
  });

  it("knows Bitnami's image names and registries with a port", () => {
    expect(
      metallbImage([
        'docker.io/bitnami/metallb-speaker:0.13.12',
        'docker.io/bitnami/metallb-controller:0.13.12',
      ]),
    ).toBe('docker.io/bitnami/metallb-controller:0.13.12');
    expect(metallbImage(['docker.io/bitnami/metallb-speaker:0.13.12'])).toBe(
      'docker.io/bitnami/metallb-speaker:0.13.12',
    );
    expect(metallbImage(['registry:5000/metallb/controller:v0.14.9'])).toBe(
      'registry:5000/metallb/controller:v0.14.9',
    );
  });

  it('orders versions by major, then minor, then patch', () => {
    expect(compareVersions({ major: 0, minor: 14, patch: 9 }, { major: 1, minor: 0, patch: 0 })).toBeLessThan(
      0,
    );
    expect(
      compareVersions({ major: 1, minor: 0, patch: 0 }, { major: 0, minor: 14, patch: 9 }),
    ).toBeGreaterThan(0);
  });

  it.each([
    ['never', undefined, 'reload strategy is never'],
    ['always', undefined, 'reload strategy is always'],
    ['auto', undefined, 'MetalLB version unknown: no MetalLB controller pod found'],
    [
      'auto',
      'quay.io/metallb/controller:main',
      'MetalLB version unknown from image quay.io/metallb/controller:main',
    ],
  ] as const)('with strategy %s and image %s says why: %s', (strategy, image, reason) => {
    expect(decideReload(strategy, image).reason).toBe(reason);
  });

  it.each([
    ['auto', 'quay.io/metallb/controller:v0.14.9', false],
    ['auto', 'quay.io/metallb/controller:v0.14.2', false],
    ['auto', 'quay.io/metallb/controller:v0.14.1', true],
    ['auto', 'quay.io/metallb/controller:v0.13.12', true],
    ['auto', 'quay.io/metallb/controller:latest', true],
    ['auto', undefined, true],
    ['always', 'quay.io/metallb/controller:v0.14.9', true],
    ['never', 'quay.io/metallb/controller:v0.13.12', false],
  ] as const)('with strategy %s and image %s cycles: %s', (strategy, image, cycle) => {
    expect(decideReload(strategy, image).cycle).toBe(cycle);
  });
});

describe('pinAnnotationFor', () => {
  it.each([
    ['quay.io/metallb/controller:v0.15.3', 'metallb.io/loadBalancerIPs'],
    ['quay.io/metallb/controller:v0.14.9', 'metallb.io/loadBalancerIPs'],
    ['quay.io/metallb/controller:v0.14.8', 'metallb.universe.tf/loadBalancerIPs'],
    ['quay.io/metallb/controller:v0.13.12', 'metallb.universe.tf/loadBalancerIPs'],
    ['quay.io/metallb/controller:main', 'metallb.universe.tf/loadBalancerIPs'],
    [undefined, 'metallb.universe.tf/loadBalancerIPs'],
  ])('%s pins with %s', (image, annotation) => {
    expect(pinAnnotationFor(image)).toBe(annotation);
  });
});
