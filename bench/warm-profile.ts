// Where a warm call's time goes: a CPU profile of many calls, each sample charged to the package whose
// code was running, or that called the Node code that was (found through the bundle's source map).
// The floor's samples have no bundle frame: they are its own few lines and Node's HTTP code.
import { readFileSync } from 'node:fs';
import { Session, type Profiler } from 'node:inspector/promises';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Where an idle sample goes: time spent waiting, not CPU. */
export const WAITING = 'waiting (the network, the API server)';
/** What V8 reports for time outside JavaScript: kept under its own name. */
const NOT_JAVASCRIPT = new Map([
  ['(idle)', WAITING],
  ['(garbage collector)', 'garbage collection'],
  ['(program)', 'V8 itself'],
]);
// Node's HTTP parser, streams and timers run from the event loop (a socket's data, a timer): no caller
// in the bundle to charge them to.
const OUTSIDE_BUNDLE = "Node's own code run from the event loop (sockets, streams, timers)";

/** The package a bundled source file came from, or the project's folder (lib/source, ...). */
function packageOf(source: string): string {
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (dependency?.[1] !== undefined) return dependency[1];
  const ours = /(?:^|\/)((?:lib|functions)\/[^/]+)\//.exec(source);
  return ours?.[1] ?? source;
}

/** Source maps of the bundles met in a profile, read once each; undefined for a file without one. */
function sourceMaps() {
  const maps = new Map<string, SourceMap | undefined>();
  return (url: string): SourceMap | undefined => {
    const file = url.replace(/\?.*$/, '');
    if (!maps.has(file)) {
      let map: SourceMap | undefined;
      try {
        map = new SourceMap(JSON.parse(readFileSync(`${fileURLToPath(file)}.map`, 'utf8')) as never);
      } catch {
        map = undefined;
      }
      maps.set(file, map);
    }
    return maps.get(file);
  };
}

/** Milliseconds per call by where they went, largest first. */
function chargeSamples(profile: Profiler.Profile, calls: number): [string, number][] {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const mapOf = sourceMaps();
  const owners = new Map<number, string>();
  const ownerOf = (id: number): string => {
    const known = owners.get(id);
    if (known !== undefined) return known;
    const node = nodes.get(id);
    const parent = parents.get(id);
    let owner = OUTSIDE_BUNDLE;
    if (node !== undefined) {
      const frame = node.callFrame;
      const map = frame.url.startsWith('file:') ? mapOf(frame.url) : undefined;
      const source = map?.findEntry(frame.lineNumber, frame.columnNumber);
      if (source !== undefined && 'originalSource' in source) owner = packageOf(source.originalSource);
      else if (parent !== undefined) owner = ownerOf(parent);
    }
    owners.set(id, owner);
    return owner;
  };
  const spent = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (const [i, id] of samples.entries()) {
    const name = nodes.get(id)?.callFrame.functionName ?? '';
    const where = NOT_JAVASCRIPT.get(name) ?? ownerOf(id);
    spent.set(where, (spent.get(where) ?? 0) + (deltas[i] ?? 0) / 1000 / calls);
  }
  return [...spent].sort((a, b) => b[1] - a[1]);
}

/** `calls` calls of `call`, profiled (after the caller has warmed it up). */
export async function profileCalls(call: () => Promise<unknown>, calls: number): Promise<[string, number][]> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    for (let i = 0; i < calls; i++) await call();
    const { profile } = await session.post('Profiler.stop');
    return chargeSamples(profile, calls);
  } finally {
    session.disconnect();
  }
}
