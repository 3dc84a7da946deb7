// On Knative every POST but a CloudEvent reaches the HTTP contract as bytes: faas-js-runtime never
// parses (or refuses) it first. The runtime itself is driven in test/cluster/functions/knative.test.ts.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import {
  BYTES_TYPE,
  bodyAsBytes,
  REQUEST_START_CHANNEL,
  wantsBytes,
} from '../../functions/knative/body-as-bytes.js';

describe('which requests are handed over as bytes', () => {
  it.each([
    ['JSON', { 'content-type': 'application/json' }],
    ['JSON with a charset', { 'content-type': 'application/json; charset=utf-8' }],
    ['text', { 'content-type': 'text/plain' }],
    ["a form (curl -d's default)", { 'content-type': 'application/x-www-form-urlencoded' }],
    ['no type', {}],
    ['bytes already', { 'content-type': BYTES_TYPE }],
  ])('a POST of %s', (_, headers) => {
    expect(wantsBytes('POST', headers)).toBe(true);
  });

  it.each([
    [
      'a binary-mode CloudEvent (the PingSource)',
      { 'ce-specversion': '1.0', 'content-type': 'application/json' },
    ],
    ['a structured CloudEvent', { 'content-type': 'application/cloudevents+json; charset=utf-8' }],
    ['a structured CloudEvent, upper case', { 'content-type': 'Application/CloudEvents+JSON' }],
    ['a CloudEvents batch', { 'content-type': 'application/cloudevents-batch+json' }],
  ])('not %s', (_, headers) => {
    expect(wantsBytes('POST', headers)).toBe(false);
  });

  it.each(['GET', 'PUT', 'OPTIONS', undefined])('not for the method %s', (method) => {
    expect(wantsBytes(method, { 'content-type': 'application/json' })).toBe(false);
  });

  it('ignores a message without a request', () => {
    expect(() => {
      bodyAsBytes(undefined);
      bodyAsBytes(null);
      bodyAsBytes({});
    }).not.toThrow();
  });
});

describe('on a Node HTTP server', () => {
  it("the type is changed before the server's handler sees the request, and only for those", async () => {
    const seen: (string | undefined)[] = [];
    const server = http.createServer((req: IncomingMessage, res) => {
      seen.push(req.headers['content-type']);
      req.resume().on('end', () => res.end());
    });
    subscribe(REQUEST_START_CHANNEL, bodyAsBytes);
    try {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/`;
      const body = new Uint8Array([0xff, 0xfe]);
      await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'ce-specversion': '1.0' },
        body: '{}',
      });
      await fetch(url, { headers: { 'content-type': 'text/plain' } });
    } finally {
      unsubscribe(REQUEST_START_CHANNEL, bodyAsBytes);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    expect(seen).toEqual([BYTES_TYPE, 'application/json', 'text/plain']);
  });
});
