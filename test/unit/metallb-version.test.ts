import { describe, expect, it } from '@jest/globals';
import { decideReload, metallbImage, versionOfImage } from '../../lib/cluster/metallb-version.js';

describe('MetalLB version detection', () => {
  it.each([
    ['quay.io/metallb/controller:v0.14.9', { major: 0, minor: 14, patch: 9 }],
    ['quay.io/metallb/controller:v0.13.12@sha256:abc', { major: 0, minor: 13, patch: 12 }],
    ['registry:5000/metallb/controller:0.14.2-rc1', { major: 0, minor: 14, patch: 2 }],
    ['registry:5000/metallb/controller', undefined],
    ['quay.io/metallb/controller:main', undefined],
    ['quay.io/metallb/controller@sha256:abc', undefined],
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
