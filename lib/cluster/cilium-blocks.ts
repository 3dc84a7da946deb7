// Cilium's LB-IPAM pool lists its addresses as `spec.blocks` of `{cidr}` or `{start, stop}`, where
// MetalLB's lists strings; the planner works on MetalLB's strings, so the Cilium pool is read as
// those and written back as blocks. A block the plan keeps is written back as the very object it
// was, whatever fields it has: only the blocks metallb-dyn6 owns are ever made anew.

/** One entry of `spec.blocks`, as Cilium's API types it (cilium.io/v2 and v2alpha1 alike). */
export interface CiliumBlock {
  cidr?: string;
  start?: string;
  stop?: string;
}

/**
 * A block as a pool entry string: `cidr`, or `start-stop`; a block with only a start is that one
 * address, as Cilium reads it, so `start-start`. Undefined for a block that has neither.
 */
export function blockText(block: CiliumBlock): string | undefined {
  if (block.cidr !== undefined) return block.cidr;
  if (block.start === undefined) return undefined;
  return `${block.start}-${block.stop ?? block.start}`;
}

/** The blocks for planned entries: a block that was there, by its text and in its order, else a new one. */
export function blocksFor(entries: readonly string[], previous: readonly CiliumBlock[]): CiliumBlock[] {
  const byText = new Map<string, CiliumBlock[]>();
  for (const block of previous) {
    const text = blockText(block);
    if (text !== undefined) byText.set(text, [...(byText.get(text) ?? []), block]);
  }
  return entries.map((entry) => byText.get(entry)?.shift() ?? newBlock(entry));
}

/** The block metallb-dyn6 writes for one of its entries (always a CIDR or a range). */
function newBlock(entry: string): CiliumBlock {
  const dash = entry.indexOf('-');
  return dash < 0 ? { cidr: entry } : { start: entry.slice(0, dash), stop: entry.slice(dash + 1) };
}
