// The one cut every error message applies to text it did not write: exact at the byte boundary,
// never splitting a character, and saying how long the whole was.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { EXCERPT_BYTES, excerpt, quotedExcerpt } from '../../lib/text/excerpt.js';

const bytes = (text: string) => Buffer.byteLength(text);

describe('excerpt', () => {
  it('cuts at 512 bytes by default', () => {
    expect(EXCERPT_BYTES).toBe(512);
  });

  it('keeps a text of exactly 512 bytes whole, and cuts one of 513', () => {
    const whole = 'a'.repeat(512);
    expect(excerpt(whole)).toBe(whole);
    expect(excerpt(`${whole}b`)).toBe(`${whole}… (513 bytes in all)`);
  });

  it('keeps short and empty texts as they are', () => {
    expect(excerpt('')).toBe('');
    expect(excerpt('not json')).toBe('not json');
  });

  it('names the whole length of a long text in bytes, not characters', () => {
    const long = 'x'.repeat(250_000);
    expect(excerpt(long)).toBe(`${'x'.repeat(512)}… (250000 bytes in all)`);
    // 1000 characters of 2 bytes each.
    expect(excerpt('é'.repeat(1000))).toBe(`${'é'.repeat(256)}… (2000 bytes in all)`);
  });

  it('never splits a character: one that would cross the limit is left out whole', () => {
    // '€' is 3 bytes: after 511 or 510 bytes it would end past byte 512.
    expect(excerpt(`${'a'.repeat(511)}€`)).toBe(`${'a'.repeat(511)}… (514 bytes in all)`);
    expect(excerpt(`${'a'.repeat(510)}€`)).toBe(`${'a'.repeat(510)}… (513 bytes in all)`);
    // One that ends exactly at the limit is kept.
    expect(excerpt(`${'a'.repeat(509)}€b`)).toBe(`${'a'.repeat(509)}€… (513 bytes in all)`);
    // A 4-byte character is one surrogate pair in JavaScript: both halves go together.
    expect(excerpt(`${'a'.repeat(510)}😀`)).toBe(`${'a'.repeat(510)}… (514 bytes in all)`);
    expect(excerpt(`${'a'.repeat(508)}😀b`)).toBe(`${'a'.repeat(508)}😀… (513 bytes in all)`);
  });

  it('takes another limit', () => {
    expect(excerpt('abcdef', 6)).toBe('abcdef');
    expect(excerpt('abcdefg', 6)).toBe('abcdef… (7 bytes in all)');
    expect(excerpt('€€', 5)).toBe('€… (6 bytes in all)');
  });

  it('by property: the kept part is a prefix of whole code points, at most the limit, as long as it can be', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.integer({ min: 1, max: 600 }),
        (text, max) => {
          const cut = excerpt(text, max);
          if (bytes(text) <= max) {
            expect(cut).toBe(text);
            return;
          }
          const marker = `… (${String(bytes(text))} bytes in all)`;
          expect(cut.endsWith(marker)).toBe(true);
          const kept = cut.slice(0, -marker.length);
          expect(text.startsWith(kept)).toBe(true);
          expect(bytes(kept)).toBeLessThanOrEqual(max);
          // The next code point would not have fitted.
          const next = String.fromCodePoint(text.codePointAt(kept.length) ?? 0);
          expect(bytes(kept) + bytes(next)).toBeGreaterThan(max);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('quotedExcerpt', () => {
  it('quotes a text that fits, as JSON', () => {
    expect(quotedExcerpt('not json')).toBe('"not json"');
    expect(quotedExcerpt('')).toBe('""');
    expect(quotedExcerpt('a"b\n')).toBe('"a\\"b\\n"');
    expect(quotedExcerpt('a'.repeat(512))).toBe(`"${'a'.repeat(512)}"`);
  });

  it('quotes the kept part of a long text, and names its length outside the quotes', () => {
    expect(quotedExcerpt('a'.repeat(513))).toBe(`"${'a'.repeat(512)}"… (513 bytes in all)`);
    const list = `[${'"x",'.repeat(50_000)}`;
    expect(quotedExcerpt(list)).toBe(`${JSON.stringify(list.slice(0, 512))}… (200001 bytes in all)`);
    expect(quotedExcerpt('abcdefg', 6)).toBe('"abcdef"… (7 bytes in all)');
    expect(quotedExcerpt(`${'a'.repeat(511)}€`)).toBe(`"${'a'.repeat(511)}"… (514 bytes in all)`);
  });
});
