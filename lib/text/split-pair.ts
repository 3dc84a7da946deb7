/** "a-b" → ["a", "b"]: undefined unless `separator` occurs exactly once. */
export function splitPair(text: string, separator: string): [string, string] | undefined {
  const at = text.indexOf(separator);
  if (at === -1 || text.includes(separator, at + 1)) return undefined;
  return [text.slice(0, at), text.slice(at + 1)];
}
