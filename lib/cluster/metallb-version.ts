// Pure: which MetalLB runs, and whether it needs its pods restarted to take new pool addresses.
import type { ReloadStrategy } from '../config/choices.js';
import { DEPRECATED_PIN_ANNOTATION, PIN_ANNOTATION } from '../plan/host-parts.js';

export interface Version {
  major: number;
  minor: number;
  patch: number;
}

/**
 * MetalLB >= 0.14.2 re-allocates services after a pool edit by itself (its release notes); older
 * controllers keep serving the old range until restarted.
 */
export const SELF_RELOADING = { major: 0, minor: 14, patch: 2 } as const satisfies Version;

/**
 * MetalLB reads the metallb.io/ annotations from 0.14.9 (its release notes deprecate the old
 * metallb.universe.tf/ prefix there); every release still reads the old one, 0.13 only that one.
 */
export const READS_METALLB_IO = { major: 0, minor: 14, patch: 9 } as const satisfies Version;

/** The pin annotation the installed MetalLB reads: the current name where it knows it, else the old one. */
export function pinAnnotationFor(image: string | undefined): string {
  const version = image === undefined ? undefined : versionOfImage(image);
  return version !== undefined && compareVersions(version, READS_METALLB_IO) >= 0
    ? PIN_ANNOTATION
    : DEPRECATED_PIN_ANNOTATION;
}

/** The version in an image reference such as quay.io/metallb/controller:v0.14.9@sha256:…, if it has one. */
export function versionOfImage(image: string): Version | undefined {
  // Stryker disable next-line StringLiteral: split always yields a first part
  const withoutDigest = image.split('@')[0] ?? '';
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  if (colon <= slash) return undefined;
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(withoutDigest.slice(colon + 1));
  if (m === null) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

export function formatVersion(v: Version): string {
  return `v${String(v.major)}.${String(v.minor)}.${String(v.patch)}`;
}

/** The MetalLB controller's image among the pods' images (the speaker's if no controller is seen). */
export function metallbImage(images: readonly string[]): string | undefined {
  // Stryker disable next-line StringLiteral: split always yields a first part
  const path = (image: string) => (image.split('@')[0] ?? '').replace(/:[^/:]*$/, '');
  return (
    images.find((i) => path(i).endsWith('/controller') || path(i).endsWith('metallb-controller')) ??
    images.find((i) => path(i).endsWith('/speaker') || path(i).endsWith('metallb-speaker'))
  );
}

export type ReloadDecision = { cycle: true; reason: string } | { cycle: false; reason: string };

export function decideReload(strategy: ReloadStrategy, image: string | undefined): ReloadDecision {
  if (strategy === 'never') return { cycle: false, reason: 'reload strategy is never' };
  if (strategy === 'always') return { cycle: true, reason: 'reload strategy is always' };
  if (image === undefined)
    return { cycle: true, reason: 'MetalLB version unknown: no MetalLB controller pod found' };
  const version = versionOfImage(image);
  if (version === undefined) return { cycle: true, reason: `MetalLB version unknown from image ${image}` };
  return compareVersions(version, SELF_RELOADING) >= 0
    ? { cycle: false, reason: `MetalLB ${formatVersion(version)} reloads pools by itself` }
    : { cycle: true, reason: `MetalLB ${formatVersion(version)} < v0.14.2 needs its pods restarted` };
}
