// Run inside a network namespace (ip netns exec): detects with the interface source there and
// prints the outcome as JSON, so the test sees what the source sees on that "host".
import { interfaceSource } from '../../lib/source/interface.js';

const ifname = process.argv[2] === '' ? undefined : process.argv[2];
interfaceSource(ifname, 64)
  .detect({})
  .then(
    (a) => {
      const alternatives = a.alternatives?.map((o) => o.address.toString());
      process.stdout.write(
        JSON.stringify({
          address: a.address.toString(),
          raw: a.raw,
          ...(alternatives === undefined ? {} : { alternatives }),
        }),
      );
    },
    (e: unknown) => {
      process.stdout.write(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
    },
  );
