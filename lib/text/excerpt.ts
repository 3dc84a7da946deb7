// What an error message may quote of text it did not write: an annotation, a response body, an
// apiserver Status message or a pushed body can be hundreds of kilobytes, and every output (the
// result document, stderr, Events, the functions' HTTP bodies) would carry it whole.

/** The most of such a text a message quotes. */
export const EXCERPT_BYTES = 512;

/** The first code points of `text` that fit in `maxBytes` of UTF-8, or undefined when it all fits. */
function head(text: string, total: number, maxBytes: number): string | undefined {
  if (total <= maxBytes) return undefined;
  let kept = '';
  let used = 0;
  // By code point, so a multi-byte character (or a surrogate pair) is never split.
  for (const char of text) {
    used += Buffer.byteLength(char);
    if (used > maxBytes) break;
    kept += char;
  }
  return kept;
}

const marker = (total: number) => `… (${String(total)} bytes in all)`;

/** `text` itself when it fits in `maxBytes` of UTF-8, else its start and its length: "abc… (250000 bytes in all)". */
export function excerpt(text: string, maxBytes = EXCERPT_BYTES): string {
  const total = Buffer.byteLength(text);
  const kept = head(text, total, maxBytes);
  return kept === undefined ? text : `${kept}${marker(total)}`;
}

/**
 * The same, JSON-quoted, so a reader sees where the text starts and ends (and any control
 * characters escaped): "\"abc\"… (250000 bytes in all)".
 */
export function quotedExcerpt(text: string, maxBytes = EXCERPT_BYTES): string {
  const total = Buffer.byteLength(text);
  const kept = head(text, total, maxBytes);
  return kept === undefined ? JSON.stringify(text) : `${JSON.stringify(kept)}${marker(total)}`;
}
