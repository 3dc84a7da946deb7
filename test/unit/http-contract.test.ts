// The HTTP contract shared by Knative, OpenFaaS and Lambda, as pure unit tests: the sync is the
// function the adapter hands in, recording what it was asked and answering a chosen result.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { createFunctionApp, TOKEN_ENV, TOKEN_FILE_ENV } from '../../functions/shared/function-app.js';
import {
  BAD_CONFIGURATION_STATUS,
  handleHttp,
  handleTick,
  parseSyncBody,
  statusFor,
  tokenMatches,
  type HttpApp,
  type HttpRequest,
  type HttpResponse,
} from '../../functions/shared/http-contract.js';
import { sharingRuns } from '../../functions/shared/shared-runs.js';
import { TickGate } from '../../functions/shared/tick-gate.js';
import { parseAnswer } from '../../lib/source/answer.js';
import type { SyncRequest } from '../../lib/sync/sync-once.js';
import type { SyncResult, SyncStatus } from '../../lib/sync/result.js';
import { failedResult } from '../../lib/sync/run-report.js';

const TOKEN = 'a-token-of-at-least-16-chars';
const POOL = 'metallb-system/ipv6-pool';
const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };
/** The whole answer to a call refused because the function's configuration is wrong. */
const configRefusal = (trigger: string, error: string) => ({
  statusCode: 500,
  headers: JSON_TYPE,
  body: { status: 'failed', pool: POOL, trigger, stage: 'config', error, apiRequests: 0, durationMs: 0 },
});

function app(status: SyncStatus = 'updated', overrides: Partial<HttpApp> = {}) {
  const calls: SyncRequest[] = [];
  const result = (request: SyncRequest): SyncResult => ({
    status,
    pool: POOL,
    ...(request.trigger === undefined ? {} : { trigger: request.trigger }),
    apiRequests: 1,
    durationMs: 3,
  });
  const value: HttpApp = {
    token: TOKEN,
    problems: [],
    pool: POOL,
    ticks: new TickGate(0),
    sync: (request) => {
      calls.push(request);
      return Promise.resolve(result(request));
    },
    ...overrides,
  };
  return { app: value, calls };
}

const post = (
  body: unknown,
  headers: HttpRequest['headers'] = { authorization: `Bearer ${TOKEN}` },
): HttpRequest => ({
  method: 'POST',
  headers,
  body,
});

describe('authentication comes first', () => {
  it.each([
    ['no header', {}],
    ['an empty header', { authorization: '' }],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
    ['the scheme alone', { authorization: 'Bearer' }],
    ['the scheme and blanks', { authorization: 'Bearer   ' }],
    ['a wrong token', { authorization: 'Bearer not-the-token-at-all-x' }],
    ['a longer token', { authorization: `Bearer ${TOKEN}x` }],
    ['a shorter token', { authorization: `Bearer ${TOKEN.slice(0, -1)}` }],
    ['two tokens', { authorization: `Bearer ${TOKEN} ${TOKEN}` }],
    ['the token without a scheme', { authorization: TOKEN }],
    ['text before the scheme', { authorization: `xBearer ${TOKEN}` }],
    ['the token in another header', { 'x-authorization': `Bearer ${TOKEN}` }],
  ] as [string, HttpRequest['headers']][])(
    'refuses %s with 401 and a challenge, before anything else',
    async (_, headers) => {
      const { app: a, calls } = app('updated', { problems: ['broken'] });
      for (const method of ['POST', 'GET']) {
        const response = await handleHttp({ method, headers, body: 'not json' }, a);
        expect(response).toEqual({
          statusCode: 401,
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'www-authenticate': 'Bearer realm="metallb-dyn6"',
          },
          body: { error: 'missing or invalid bearer token' },
        });
      }
      expect(calls).toEqual([]);
    },
  );

  it.each([
    ['no token', undefined],
    ['an empty token', ''],
  ])('refuses every call while the function has %s, as a bad configuration', async (_, token) => {
    const { app: a, calls } = app('updated', { token });
    for (const headers of [{}, { authorization: 'Bearer ' }, { authorization: `Bearer ${TOKEN}` }]) {
      expect(await handleHttp(post(undefined, headers), a)).toEqual(
        configRefusal(
          'http',
          'bad configuration: no usable HTTP token, so no call can be authenticated (the log says why)',
        ),
      );
    }
    expect(calls).toEqual([]);
  });

  it.each([
    ['the usual form', { authorization: `Bearer ${TOKEN}` }],
    ['a lower-case scheme', { authorization: `bearer ${TOKEN}` }],
    ['an upper-case scheme and extra blanks', { authorization: `BEARER  ${TOKEN}  ` }],
    ['an upper-case header name', { Authorization: `Bearer ${TOKEN}` }],
    ['a repeated header (the first counts)', { authorization: [`Bearer ${TOKEN}`, 'Bearer other'] }],
    ['other headers first', { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }],
  ] as [string, HttpRequest['headers']][])('accepts %s', async (_, headers) => {
    const { app: a, calls } = app();
    expect((await handleHttp(post(undefined, headers), a)).statusCode).toBe(200);
    expect(calls).toHaveLength(1);
  });

  it('compares tokens whole, and never matches an empty expected token', () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(`${TOKEN}x`, TOKEN)).toBe(false);
    expect(tokenMatches('', '')).toBe(false);
  });
});

describe('then the method, the body and the configuration', () => {
  it.each(['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD'])(
    'answers %s with 405 and Allow: POST',
    async (method) => {
      const { app: a, calls } = app();
      const response = await handleHttp({ ...post(undefined), method }, a);
      expect(response).toEqual({
        statusCode: 405,
        headers: { 'content-type': 'application/json; charset=utf-8', allow: 'POST' },
        body: { error: 'use POST to run a sync' },
      });
      expect(calls).toEqual([]);
    },
  );

  it('takes the method in any case', async () => {
    expect((await handleHttp({ ...post(undefined), method: 'post' }, app().app)).statusCode).toBe(200);
  });

  it.each([
    ['not JSON', 'prefix=2a02::/48', 'body is not JSON'],
    ['a JSON array', '[1]', 'body must be a JSON object'],
    ['a JSON string', '"2a02::/48"', 'body must be a JSON object'],
    ['a number', 42, 'body must be a JSON object'],
    ['an array', [], 'body must be a JSON object'],
    [
      'unknown fields',
      { prefix: '2a02:8071:1234::/48', dryrun: true, x: 1 },
      'unknown field(s): dryrun, x (allowed: prefix, dryRun, force)',
    ],
    ['a non-boolean dryRun', { dryRun: 'yes' }, 'dryRun must be true or false'],
    ['a non-boolean force', { force: 1 }, 'force must be true or false'],
    ['a non-string prefix', { prefix: 48 }, 'prefix must be a string such as "2a02:8071:1234::/48"'],
    [
      'a ULA prefix',
      { prefix: 'fd00:1::/48' },
      'source push: answer "fd00:1::/48" is not a global unicast address: unique local (ULA, fc00::/7)',
    ],
    [
      'a /0 prefix',
      { prefix: '2a02:8071::1/0' },
      'source push: answer "2a02:8071::1/0" has an invalid prefix length',
    ],
    [
      'a /129 prefix',
      { prefix: '2a02:8071::1/129' },
      'source push: answer "2a02:8071::1/129" has an invalid prefix length',
    ],
    ['a JSON buffer of garbage', Buffer.from('{'), 'body is not JSON'],
    // What Knative hands over as bytes, and OpenFaaS and Lambda as the text it decodes to.
    ['a body that is not UTF-8', Buffer.from([0xff, 0xfe]), 'body is not JSON'],
    ['a body that is not UTF-8, decoded', Buffer.from([0xff, 0xfe]).toString(), 'body is not JSON'],
  ])('answers %s with 400 and the reason, running nothing', async (_, body, error) => {
    const { app: a, calls } = app('updated', { problems: ['broken'] });
    const response = await handleHttp(post(body), a);
    expect(response).toEqual({
      statusCode: 400,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: { error },
    });
    expect(calls).toEqual([]);
  });

  it.each([
    [
      'a field name of 250 KB',
      JSON.stringify({ ['f'.repeat(250_000)]: true }),
      `unknown field(s): ${'f'.repeat(512)}… (250000 bytes in all) (allowed: prefix, dryRun, force)`,
    ],
    [
      '50 000 unknown fields',
      JSON.stringify(Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`f${String(i)}`, 1]))),
      `unknown field(s): ${Array.from({ length: 50_000 }, (_, i) => `f${String(i)}`)
        .join(', ')
        .slice(0, 512)}… (388888 bytes in all) (allowed: prefix, dryRun, force)`,
    ],
    [
      'a prefix of 250 KB',
      JSON.stringify({ prefix: `2a02:8071:1234::/48${'x'.repeat(249_981)}` }),
      `source push: answer "2a02:8071:1234::/48${'x'.repeat(41)}"… (250000 bytes in all) has an invalid prefix length`,
    ],
  ])('answers a pushed body with %s with a bounded 400', async (_, body, error) => {
    const { app: a, calls } = app();
    const response = await handleHttp(post(body), a);
    expect(response).toEqual({
      statusCode: 400,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: { error },
    });
    expect(Buffer.byteLength(JSON.stringify(response.body))).toBeLessThan(700);
    expect(calls).toEqual([]);
  });

  it.each([
    ['no body', undefined],
    ['null', null],
    ['an empty string', ''],
    ['blanks', ' \n'],
    ['an empty buffer', Buffer.alloc(0)],
    ['an empty object', {}],
    ['an empty JSON object as text', '{}'],
  ])('runs the plain sync for %s', async (_, body) => {
    const { app: a, calls } = app();
    expect((await handleHttp(post(body), a)).statusCode).toBe(200);
    expect(calls).toEqual([{ trigger: 'http' }]);
  });

  it('passes dryRun, force and a pushed prefix on, as text, buffer or parsed JSON', async () => {
    const body = { prefix: ' 2a02:8071:1234::/48 ', dryRun: true, force: false };
    for (const form of [body, JSON.stringify(body), Buffer.from(JSON.stringify(body))]) {
      const { app: a, calls } = app();
      expect((await handleHttp(post(form), a)).statusCode).toBe(200);
      expect(calls).toHaveLength(1);
      const [call] = calls;
      expect(call).toMatchObject({ trigger: 'http-push', dryRun: true, force: false });
      expect(call?.answer).toMatchObject({ source: 'push', raw: '2a02:8071:1234::/48', prefixLength: 48 });
    }
  });

  it('refuses to run while the configuration is invalid: 500 with every problem', async () => {
    const { app: a, calls } = app('updated', {
      problems: ['--pool is required', '--host-range is required'],
    });
    expect(await handleHttp(post(undefined), a)).toEqual(
      configRefusal('http', 'bad configuration: --pool is required; --host-range is required'),
    );
    const pushed = await handleHttp(post({ prefix: '2a02:8071:1234::/48' }), a);
    expect(pushed.body).toMatchObject({ trigger: 'http-push', stage: 'config' });
    expect(calls).toEqual([]);
  });
});

describe('the result decides the status code', () => {
  it.each([
    ['unchanged', 200],
    ['updated', 200],
    ['dry-run', 200],
    ['failed', 502],
    ['rolled-back', 502],
  ] as [SyncStatus, number][])('%s is %d, with the result document as the body', async (status, code) => {
    const { app: a } = app(status);
    const response = await handleHttp(post(undefined), a);
    expect(response).toEqual({
      statusCode: code,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: { status, pool: POOL, trigger: 'http', apiRequests: 1, durationMs: 3 },
    });
    expect(statusFor({ status, pool: 'p', apiRequests: 0, durationMs: 0 })).toBe(code);
  });

  it("a pushed prefix refused on its merits is 422, the caller's error", () => {
    const refused = { status: 'failed', pool: 'p', stage: 'detect', apiRequests: 0, durationMs: 0 } as const;
    expect(statusFor({ ...refused, trigger: 'http-push' })).toBe(422);
    expect(statusFor({ ...refused, trigger: 'http' })).toBe(502);
    expect(statusFor({ ...refused, stage: 'write', trigger: 'http-push' })).toBe(502);
  });

  it('a failure at config is 500 whatever the trigger; at any other stage 502', () => {
    const failed = { status: 'failed', pool: 'p', apiRequests: 0, durationMs: 0 } as const;
    for (const trigger of ['http', 'http-push', 'schedule'])
      expect(statusFor({ ...failed, stage: 'config', trigger })).toBe(500);
    for (const stage of ['request', 'read', 'plan', 'services', 'write', 'reload', 'rollback'] as const)
      expect(statusFor({ ...failed, stage, trigger: 'http-push' })).toBe(502);
    expect(statusFor({ ...failed, status: 'rolled-back', stage: 'reload' })).toBe(502);
  });
});

describe('the one builder of a failed document', () => {
  it('gives every failure its stage, and a refusal before any run no requests and no time', () => {
    const refused = failedResult({ pool: 'p' }, { stage: 'request', error: 'unsupported event' });
    expect(refused).toStrictEqual({
      pool: 'p',
      status: 'failed',
      stage: 'request',
      error: 'unsupported event',
      apiRequests: 0,
      durationMs: 0,
    });
  });

  it("keeps a run's trigger, cost, findings and rollback", () => {
    const frame = { pool: 'p', trigger: 'http', apiRequests: 5, durationMs: 40 };
    const failure = { stage: 'reload', error: 'MetalLB did not take it', status: 'rolled-back' } as const;
    expect(failedResult(frame, failure, { prefix: '2a02:8071:1234::/48' })).toStrictEqual({
      pool: 'p',
      trigger: 'http',
      status: 'rolled-back',
      prefix: '2a02:8071:1234::/48',
      stage: 'reload',
      error: 'MetalLB did not take it',
      apiRequests: 5,
      durationMs: 40,
    });
  });
});

describe('a wrong configuration is one status, whichever check finds it', () => {
  // The function's own settings, not the caller, a source or the cluster: an operator must act.
  const SETTINGS = {
    METALLB_DYN6_HOST_RANGE: '::1000-::1999',
    METALLB_DYN6_METALLB_POOL: 'ipv6-pool',
    METALLB_DYN6_SOURCE: 'static:2a02:8071:1234:5678::9',
    [TOKEN_ENV]: TOKEN,
  };
  const noCluster = () => Promise.reject(new Error('no kubeconfig here'));
  const realApp = (env: NodeJS.ProcessEnv) => createFunctionApp(env, noCluster);
  const inAppFailure = (request: SyncRequest) =>
    Promise.resolve(
      failedResult({ pool: POOL, trigger: request.trigger }, { stage: 'config', error: 'unusable' }),
    );

  // The app logs its configuration problems to stderr, which only clutters the test's output.
  beforeEach(() => {
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it.each<[string, () => Promise<HttpResponse>]>([
    [
      'settings the app could not load, on a call',
      () => handleHttp(post({}), realApp({ [TOKEN_ENV]: TOKEN })),
    ],
    ['settings the app could not load, on a tick', () => handleTick(realApp({ [TOKEN_ENV]: TOKEN }), 'ping')],
    ['unusable cluster credentials, on a call', () => handleHttp(post({}), realApp(SETTINGS))],
    ['unusable cluster credentials, on a tick', () => handleTick(realApp(SETTINGS), 'ping')],
    ['no HTTP token', () => handleHttp(post({}), realApp({ ...SETTINGS, [TOKEN_ENV]: '' }))],
    [
      'a too short HTTP token',
      () =>
        handleHttp(
          post({}, { authorization: 'Bearer short' }),
          realApp({ ...SETTINGS, [TOKEN_ENV]: 'short' }),
        ),
    ],
    [
      'an unreadable token file',
      () => handleHttp(post({}), realApp({ ...SETTINGS, [TOKEN_FILE_ENV]: '/nonexistent/token' })),
    ],
    [
      'a problem the adapter adds',
      () => handleHttp(post({}), app('updated', { problems: ['RAW_BODY'] }).app),
    ],
    [
      'a config failure inside the sync, on a call',
      () => handleHttp(post({}), app('updated', { sync: inAppFailure }).app),
    ],
    [
      'a config failure inside the sync, on a tick',
      () => handleTick(app('updated', { sync: inAppFailure }).app, 'ping'),
    ],
  ])('%s: 500, a failed document at stage config', async (_, respond) => {
    const response = await respond();
    expect(response.statusCode).toBe(BAD_CONFIGURATION_STATUS);
    expect(response.body).toMatchObject({ status: 'failed', stage: 'config', apiRequests: 0 });
  });

  it("is a server error, apart from the sync failures (502) and the caller's mistakes (4xx)", () => {
    expect(BAD_CONFIGURATION_STATUS).toBe(500);
  });

  it('names the pool when the settings do, and whatever made the credentials unusable', async () => {
    const response = await handleHttp(post({}), realApp(SETTINGS));
    expect(response.body).toMatchObject({
      pool: 'metallb-system/ipv6-pool',
      trigger: 'http',
      error: 'no kubeconfig here',
    });
    const unloaded = await handleTick(realApp({ [TOKEN_ENV]: TOKEN }), 'ping');
    expect(unloaded.body).toMatchObject({ pool: '?', trigger: 'ping' });
    const anonymous: HttpApp = {
      token: TOKEN,
      problems: ['x'],
      ticks: new TickGate(0),
      sync: () => Promise.reject(new Error('never run')),
    };
    expect((await handleTick(anonymous, 'ping')).body).toMatchObject({ pool: '?' });
  });
});

describe('scheduler ticks', () => {
  it.each([
    ['updated', 200],
    ['failed', 502],
    ['rolled-back', 502],
  ] as [SyncStatus, number][])(
    'run only the plain sync, named by the trigger: %s is %d',
    async (status, code) => {
      const { app: a, calls } = app(status);
      const response = await handleTick(a, 'ping');
      expect(response.statusCode).toBe(code);
      expect(response.body).toMatchObject({ status, trigger: 'ping' });
      expect(calls).toEqual([{ trigger: 'ping' }]);
    },
  );

  it('refuse to run while the configuration is invalid', async () => {
    const { app: a, calls } = app('updated', { problems: ['x', 'y'] });
    expect(await handleTick(a, 'ping')).toEqual(configRefusal('ping', 'bad configuration: x; y'));
    expect(calls).toEqual([]);
  });
});

describe('tick rate: schedule ticks carry no credentials', () => {
  it('one tick per minimum interval runs; the others get 429 with Retry-After and sync nothing', async () => {
    let now = 1_000_000;
    const { app: a, calls } = app('updated', { ticks: new TickGate(30_000, () => now) });
    expect((await handleTick(a, 'ping')).statusCode).toBe(200);
    now += 10_500;
    const refused = await handleTick(a, 'ping');
    expect(refused).toEqual({
      statusCode: 429,
      headers: { 'content-type': 'application/json; charset=utf-8', 'retry-after': '20' },
      body: {
        error:
          'schedule ticks run at most once per minimum interval; next in 20 s (authenticated calls run at once)',
      },
    });
    // Authenticated calls are not limited.
    expect((await handleHttp(post({}), a)).statusCode).toBe(200);
    now += 19_500;
    expect((await handleTick(a, 'ping')).statusCode).toBe(200);
    expect(calls.map((c) => c.trigger)).toEqual(['ping', 'http', 'ping']);
  });

  it('500 ticks in a burst make one sync', async () => {
    const { app: a, calls } = app('updated', { ticks: new TickGate(30_000) });
    const codes = await Promise.all(Array.from({ length: 500 }, () => handleTick(a, 'ping')));
    expect(codes.filter((r) => r.statusCode === 200)).toHaveLength(1);
    expect(codes.filter((r) => r.statusCode === 429)).toHaveLength(499);
    expect(calls).toHaveLength(1);
  });
});

describe('concurrent calls share one sync', () => {
  it('the same request while one runs joins it; a different one runs on its own', async () => {
    const started: SyncRequest[] = [];
    const waiting: (() => void)[] = [];
    const finishAll = () => {
      waiting.splice(0).forEach((f) => {
        f();
      });
    };
    const sync = sharingRuns(async (request) => {
      started.push(request);
      await new Promise<void>((resolve) => waiting.push(resolve));
      return { status: 'updated', pool: 'p', apiRequests: 4, durationMs: 1 } satisfies SyncResult;
    });
    const plain = [sync({ trigger: 'http' }), sync({ trigger: 'schedule' }), sync({ trigger: 'http' })];
    const pushed = sync({ trigger: 'http-push', answer: parseAnswer('push', '2a02:8071:1234::/48') });
    expect(started).toHaveLength(2);
    finishAll();
    const results = await Promise.all([...plain, pushed]);
    expect(results.map((r) => r.status)).toEqual(['updated', 'updated', 'updated', 'updated']);
    // Finished runs are not reused: the next call starts a new sync.
    const next = sync({ trigger: 'http' });
    expect(started).toHaveLength(3);
    finishAll();
    await next;
  });
});

describe('the body on its own', () => {
  it('keeps only the fields that were given', () => {
    expect(parseSyncBody({ force: true })).toEqual({ ok: true, value: { force: true } });
    expect(parseSyncBody({ dryRun: false })).toEqual({ ok: true, value: { dryRun: false } });
    expect(parseSyncBody({ dryRun: undefined })).toEqual({ ok: true, value: {} });
  });
});
