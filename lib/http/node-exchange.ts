// One HTTP request and its whole answer, over Node's http and https modules: what both HTTP clients of
// a sync (client-node's API requests, ky's fetch for sources) run on. Node's built-in fetch (undici)
// parses HTTP in WebAssembly, whose compilation costs a cold run ~200 ms and ~30 MB; node-fetch adds
// a WHATWG emulation and a stream per answer that were most of a warm request's own time. The
// answers are small JSON or text documents, read whole into one buffer, as they arrived (a compressed
// one is for its caller to decompress).
import http from 'node:http';
import https from 'node:https';

export interface Exchange {
  method: string;
  headers: http.OutgoingHttpHeaders;
  body?: string | Buffer;
  /** The connection pool (keep-alive, TLS settings, proxy); `false` for a connection of its own. */
  agent: http.Agent | false;
  signal?: AbortSignal;
}

export interface Answer {
  status: number;
  statusText: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** How much of an answer's body is read: `cut` keeps its first bytes and drops the rest unread. */
export interface BodyLimit {
  bytes: number;
  over: 'fail' | 'cut';
}

/** An answer whose body is larger than its limit allows; the connection is dropped. */
export class AnswerTooLarge extends Error {
  override name = 'AnswerTooLarge';
  constructor(readonly bytes: number) {
    super(`answer larger than ${String(bytes)} bytes`);
  }
}

/**
 * Sends the request and reads its answer, within `limitOf(status)` (all of it when undefined).
 * An aborted request fails with its signal's reason, as fetch does; a network failure with Node's
 * own error (its `code`, its message naming the address).
 */
export function exchange(
  url: string,
  request: Exchange,
  limitOf: (status: number) => BodyLimit | undefined = () => undefined,
): Promise<Answer> {
  const { signal } = request;
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- fetch's contract: an abort rejects with the signal's reason, whatever it is
      reject(signal?.aborted === true ? (signal.reason as unknown) : error);
    };
    const target = new URL(url);
    const options: http.RequestOptions = {
      method: request.method,
      headers: request.headers,
      agent: request.agent,
      ...(signal === undefined ? {} : { signal }),
    };
    const outgoing = (target.protocol === 'https:' ? https : http).request(target, options, (response) => {
      const status = response.statusCode ?? 0;
      const limit = limitOf(status);
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        resolve({
          status,
          statusText: response.statusMessage ?? '',
          headers: response.headers,
          body: Buffer.concat(chunks).subarray(0, limit?.bytes),
        });
      };
      const stop = () => {
        response.removeAllListeners('data');
        outgoing.destroy();
      };
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (limit?.over === 'fail' && size > limit.bytes) {
          stop();
          fail(new AnswerTooLarge(limit.bytes));
        } else if (limit?.over === 'cut' && size >= limit.bytes) {
          stop();
          done();
        }
      });
      response.on('error', fail);
      response.on('end', () => {
        if (response.complete) done();
        else fail(new Error('the connection closed before the whole answer arrived'));
      });
    });
    outgoing.on('error', fail);
    outgoing.end(request.body);
  });
}
