// The image's HTTP server on a real socket (127.0.0.1, a free port): probe paths, /metrics, the
// bytes a call hands the contract whatever their content type, and the limits around them.
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Server } from 'node:http';
import { Registry, Counter } from 'prom-client';
import {
  ALWAYS_HEALTHY,
  MAX_BODY_BYTES,
  parsePort,
  serveHttp,
  type Endpoints,
} from '../../functions/shared/http-server.js';
import type { HttpRequest } from '../../functions/shared/http-contract.js';
import { isScheduleTick } from '../../functions/shared/schedule-tick.js';
import { loopLiveness, WEDGED_AFTER_DEADLINE_MS } from '../../functions/cli/run-loop.js';

let server: Server | undefined;
afterEach(async () => {
  const closing = server;
  server = undefined;
  if (closing !== undefined) await new Promise((resolve) => closing.close(resolve));
});

async function start(overrides: Partial<Endpoints> = {}, errors: unknown[] = []) {
  const registry = new Registry();
  new Counter({ name: 'test_calls_total', help: 'calls', registers: [registry] }).inc(3);
  const listening = await serveHttp(
    0,
    { liveness: ALWAYS_HEALTHY, readiness: ALWAYS_HEALTHY, metrics: registry, ...overrides },
    (error) => errors.push(error),
  );
  server = listening.server;
  return (path: string, init?: RequestInit) =>
    fetch(`http://127.0.0.1:${String(listening.port)}${path}`, init);
}

describe('the HTTP server of run and serve', () => {
  it.each(['/health/liveness', '/health/readiness', '/_/health', '/_/ready'])(
    'answers the probe %s',
    async (path) => {
      const get = await start();
      const response = await get(path);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok' });
      expect((await get(path, { method: 'HEAD' })).status).toBe(200);
    },
  );

  it('answers 503 with the reason when a probe finds a problem', async () => {
    const get = await start({ liveness: { problem: () => 'wedged' } });
    const response = await get('/health/liveness');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'unavailable', problem: 'wedged' });
    expect((await get('/health/readiness')).status).toBe(200);
  });

  it("serves the registry's metrics in Prometheus's text format", async () => {
    const get = await start();
    const response = await get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await response.text()).toContain('test_calls_total 3');
  });

  it('answers 404 for any other path when it serves no calls (run)', async () => {
    const get = await start();
    const response = await get('/', { method: 'POST', body: '{}' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'no such path: /' });
  });

  it.each([
    ['curl -d (a form type)', 'application/x-www-form-urlencoded'],
    ['JSON', 'application/json'],
    ['plain text', 'text/plain'],
    ['bytes', 'application/octet-stream'],
    ['no content type', undefined],
  ])('hands the contract the body as bytes, as sent: %s', async (_name, type) => {
    const seen: HttpRequest[] = [];
    const get = await start({
      call: (request) => {
        seen.push(request);
        return Promise.resolve({ statusCode: 202, headers: { 'x-answer': 'yes' }, body: { error: 'seen' } });
      },
    });
    const body = '{"prefix":"2001:db8:1:2::/64"}';
    const response = await get('/any/path?x=1', {
      method: 'POST',
      // fetch adds text/plain to a string body: bytes carry no type unless one is given.
      body: type === undefined ? Buffer.from(body) : body,
      headers: { authorization: 'Bearer secret', ...(type === undefined ? {} : { 'content-type': type }) },
    });
    expect(response.status).toBe(202);
    expect(response.headers.get('x-answer')).toBe('yes');
    expect(await response.json()).toEqual({ error: 'seen' });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.method).toBe('POST');
    expect(seen[0]?.headers['authorization']).toBe('Bearer secret');
    expect(seen[0]?.headers['content-type']).toBe(type);
    expect(Buffer.isBuffer(seen[0]?.body)).toBe(true);
    expect(String(seen[0]?.body)).toBe(body);
  });

  it('refuses a body larger than a sync request can be, without calling the contract', async () => {
    let called = false;
    const get = await start({
      call: () => {
        called = true;
        return Promise.resolve({ statusCode: 200, headers: {}, body: { error: 'not reached' } });
      },
    });
    const response = await get('/', { method: 'POST', body: 'x'.repeat(MAX_BODY_BYTES + 1) });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: `body larger than ${String(MAX_BODY_BYTES)} bytes` });
    expect(called).toBe(false);
  });

  it('answers 500 without details when a call throws, and reports the error', async () => {
    const errors: unknown[] = [];
    const get = await start({ call: () => Promise.reject(new Error('token=hunter2 leaked?')) }, errors);
    const response = await get('/', { method: 'POST' });
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('{"error":"internal error (see the logs)"}');
    expect(errors).toEqual([new Error('token=hunter2 leaked?')]);
  });
});

describe('the port setting', () => {
  it('takes 0 (any free port) to 65535', () => {
    expect(parsePort('8080')).toBe(8080);
    expect(parsePort('0')).toBe(0);
    expect(parsePort('65535')).toBe(65_535);
  });

  it.each(['65536', '-1', '80a', '', ' 80', '8080.0', '123456'])('refuses %j', (text) => {
    expect(parsePort(text)).toBeUndefined();
  });
});

describe("a scheduler's tick", () => {
  const request = (headers: HttpRequest['headers'], body = ''): HttpRequest => ({
    method: 'POST',
    headers,
    body: Buffer.from(body),
  });

  it("is a PingSource's CloudEvent in binary mode", () => {
    expect(isScheduleTick(request({ 'ce-type': 'dev.knative.sources.ping', 'ce-specversion': '1.0' }))).toBe(
      true,
    );
  });

  it("is a PingSource's CloudEvent in structured mode", () => {
    const event = JSON.stringify({ specversion: '1.0', type: 'dev.knative.sources.ping', data: {} });
    expect(
      isScheduleTick(request({ 'content-type': 'application/cloudevents+json; charset=utf-8' }, event)),
    ).toBe(true);
  });

  it("is the OpenFaaS cron-connector's call", () => {
    expect(isScheduleTick(request({ 'X-Connector': 'cron-connector' }))).toBe(true);
  });

  it('is not any other CloudEvent, connector or body', () => {
    expect(isScheduleTick(request({ 'ce-type': 'dev.knative.apiserver.resource.add' }))).toBe(false);
    expect(isScheduleTick(request({ 'x-connector': 'kafka-connector' }))).toBe(false);
    expect(
      isScheduleTick(request({ 'content-type': 'application/cloudevents+json' }, '{"type":"other"}')),
    ).toBe(false);
    expect(isScheduleTick(request({ 'content-type': 'application/cloudevents+json' }, 'not json'))).toBe(
      false,
    );
    expect(
      isScheduleTick(request({ 'content-type': 'application/json' }, '{"type":"dev.knative.sources.ping"}')),
    ).toBe(false);
    expect(isScheduleTick(request({ 'content-type': 'application/cloudevents+json' }, 'null'))).toBe(false);
  });
});

describe("run's liveness", () => {
  const deadlineMs = 240_000;

  it('is live between runs and during a run until its deadline has long passed', () => {
    let since: number | undefined;
    let now = 1_000_000;
    const health = loopLiveness(
      deadlineMs,
      () => since,
      () => now,
    );
    expect(health.problem()).toBeUndefined();
    since = now;
    now += deadlineMs + WEDGED_AFTER_DEADLINE_MS;
    expect(health.problem()).toBeUndefined();
    now += 1;
    expect(health.problem()).toBe('a run started 300 s ago, past its deadline of 240 s');
    since = undefined;
    expect(health.problem()).toBeUndefined();
  });
});
