// What a router's DHCPv6-PD hook sends, byte for byte, and what every platform must answer it.
import { request } from 'node:http';
import { expect } from '@jest/globals';

/**
 * The Content-Types a hook's one-line HTTP call may carry: curl's `-d` says form-encoded, `--json`
 * and most scripts say JSON, busybox wget and some firmwares plain text or bytes, and a raw socket
 * or `--data-binary` with the type removed says none.
 */
export const ROUTER_CONTENT_TYPES: readonly (readonly [string, string | undefined])[] = [
  ["curl -d's default", 'application/x-www-form-urlencoded'],
  ['JSON', 'application/json'],
  ['plain text', 'text/plain'],
  ['bytes', 'application/octet-stream'],
  ['no Content-Type', undefined],
];

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * POSTs exactly these headers and this body. fetch() cannot send a string body without a
 * Content-Type (it adds text/plain), so node:http does it, as curl with `-H 'Content-Type:'` would.
 */
export function post(url: string, headers: Record<string, string>, body: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const bytes = Buffer.from(body);
    const req = request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(bytes.length) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(bytes);
  });
}

/** The call's headers: the bearer token if given, the Content-Type if any. */
export function hookHeaders(type: string | undefined, token?: string): Record<string, string> {
  return {
    ...(type === undefined ? {} : { 'content-type': type }),
    ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
  };
}

/**
 * The answer is our JSON document (never a platform's HTML error page, never a stack trace):
 * returns its fields for the caller's own checks.
 */
export function jsonDocument(answer: RawAnswer): Record<string, unknown> {
  expect({ type: answer.headers['content-type'], text: answer.text }).toEqual({
    type: expect.stringMatching(/^application\/json\b/),
    text: expect.not.stringMatching(/<html|<pre>|\n\s+at /i),
  });
  return JSON.parse(answer.text) as Record<string, unknown>;
}

/**
 * What a platform answers to a push without the token (well-formed and malformed) and to malformed
 * JSON with it, in each content type: compared with EXPECTED_REFUSALS.
 */
export async function refusalAnswers(url: string, token: string): Promise<unknown[]> {
  const answers = [];
  for (const [what, type] of ROUTER_CONTENT_TYPES) {
    for (const [body, withToken] of [
      ['{"prefix":"2a02:8071:abcd:ef00::/56"}', false],
      ['{"prefix":', false],
      ['{"prefix":', true],
    ] as const) {
      const answer = await post(url, hookHeaders(type, withToken ? token : undefined), body);
      answers.push({ what, body, token: withToken, status: answer.status, json: jsonDocument(answer) });
    }
  }
  return answers;
}

export const EXPECTED_REFUSALS = ROUTER_CONTENT_TYPES.flatMap(([what]) => [
  {
    what,
    body: '{"prefix":"2a02:8071:abcd:ef00::/56"}',
    token: false,
    status: 401,
    json: { error: 'missing or invalid bearer token' },
  },
  { what, body: '{"prefix":', token: false, status: 401, json: { error: 'missing or invalid bearer token' } },
  { what, body: '{"prefix":', token: true, status: 400, json: { error: 'body is not JSON' } },
]);
