export interface RawFloorOptions {
  echoUrl: string;
  poolUrl: string;
  caPem: Buffer;
  token: string;
  /** Also PATCH the pool (the floor of a prefix change). */
  patch?: boolean;
}

/** One round of the floor's requests, over connections kept alive between rounds. */
export function rawFloor(options: RawFloorOptions): () => Promise<string>;
