import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchOverNodeHttp } from '../../../lib/source/node-http-fetch.js';
import { freePort } from '../../../devcluster/ports.js';
import { startHttpStub, type HttpStub } from '../../support/http-stub.js';

// ky relies on fetch's contract; these hold it to what Node's built-in fetch does, against real servers.
describe('fetch over node:http, as ky calls it', () => {
  let stub: HttpStub;
  let echo: http.Server;
  let echoUrl: string;

  beforeAll(async () => {
    stub = await startHttpStub({
      '/text': { status: 201, body: 'héllo', headers: { 'x-one': 'a' } },
      '/none': { status: 204 },
      '/slow': { delayMs: 2000, body: 'late' },
    });
    // Answers with what it received, to show that method, headers and body go out as given.
    echo = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, header: req.headers['x-test'], body }));
      });
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    echoUrl = `http://127.0.0.1:${String((echo.address() as AddressInfo).port)}`;
  });

  afterAll(async () => {
    await stub.close();
    echo.closeAllConnections();
    await new Promise((resolve) => echo.close(resolve));
  });

  it('returns a standard Response with status, headers and body', async () => {
    const response = await fetchOverNodeHttp(`${stub.url}/text`);
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(201);
    expect(response.ok).toBe(true);
    expect(response.headers.get('x-one')).toBe('a');
    expect(await response.text()).toBe('héllo');
  });

  it('gives a 204 no body', async () => {
    const response = await fetchOverNodeHttp(`${stub.url}/none`);
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
  });

  it('sends the method, headers and body of a Request', async () => {
    const request = new Request(`${echoUrl}/post`, {
      method: 'POST',
      headers: { 'x-test': 'yes' },
      body: 'payload',
    });
    expect(await (await fetchOverNodeHttp(request)).json()).toEqual({
      method: 'POST',
      header: 'yes',
      body: 'payload',
    });
  });

  it('rejects with the abort reason when its signal fires', async () => {
    const controller = new AbortController();
    const reason = new Error('deadline passed');
    setTimeout(() => {
      controller.abort(reason);
    }, 50);
    await expect(fetchOverNodeHttp(`${stub.url}/slow`, { signal: controller.signal })).rejects.toBe(reason);
  });

  it('rejects with TypeError("fetch failed") caused by the network error, as fetch does', async () => {
    const port = await freePort();
    const failure = await fetchOverNodeHttp(`http://127.0.0.1:${String(port)}/`).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(TypeError);
    expect(failure).toMatchObject({
      message: 'fetch failed',
      cause: { message: `connect ECONNREFUSED 127.0.0.1:${String(port)}`, code: 'ECONNREFUSED' },
    });
  });
});
