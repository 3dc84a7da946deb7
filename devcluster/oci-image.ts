// The image scripts/build-image.sh writes, read back from its OCI layout as a registry would serve it:
// an index of per-architecture images, each a config and gzipped layers unpacked in order.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runToSuccess } from './run-process.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  platform?: { os: string; architecture: string };
}

export interface ImageConfig {
  os: string;
  architecture: string;
  config: { Entrypoint: string[]; Cmd: string[]; User: string; Env: string[] };
}

const blob = (layout: string, digest: string) => path.join(layout, 'blobs', digest.replace(':', '/'));
const json = (layout: string, digest: string): unknown =>
  JSON.parse(readFileSync(blob(layout, digest), 'utf8'));

/** The digest of the layout's one image index: what a registry would serve for the tag. */
export function indexDigest(layout: string): string | undefined {
  const top = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as {
    manifests: Descriptor[];
  };
  return top.manifests[0]?.digest;
}

/** The `arch` image of the layout's index: its configuration and its layers, bottom first. */
export function imageFor(layout: string, arch: string): { config: ImageConfig; layers: Descriptor[] } {
  const index = json(layout, indexDigest(layout) ?? '') as { manifests: Descriptor[] };
  const entry = index.manifests.find((m) => m.platform?.architecture === arch);
  if (entry === undefined) throw new Error(`the image index has no ${arch} image`);
  const manifest = json(layout, entry.digest) as { config: Descriptor; layers: Descriptor[] };
  return { config: json(layout, manifest.config.digest) as ImageConfig, layers: manifest.layers };
}

/** Unpacks the `arch` image's layers into `root`, in order, as a container runtime would. */
export async function unpackImage(layout: string, arch: string, root: string): Promise<string> {
  mkdirSync(root, { recursive: true });
  for (const layer of imageFor(layout, arch).layers)
    await runToSuccess('tar', ['-xzf', blob(layout, layer.digest), '-C', root], { env: process.env });
  return root;
}

/** The image's environment (`KEY=value` lines) as an object. */
export const envOf = (config: ImageConfig['config']): Record<string, string> =>
  Object.fromEntries(config.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
