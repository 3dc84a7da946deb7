// Serves an OpenFaaS handler the way the node22 template's index.js does (its FunctionEvent and
// FunctionContext, its body parsing and its response rules), with node:http instead of express.
// Usage: node openfaas-node22-template.cjs <handler.js> <port>
'use strict';
const http = require('node:http');
const handler = require(process.argv[2]);

class FunctionEvent {
  constructor(req, body) {
    this.body = body;
    this.headers = req.headers;
    this.method = req.method;
    this.query = Object.fromEntries(new URL(req.url, 'http://localhost').searchParams);
    this.path = new URL(req.url, 'http://localhost').pathname;
  }
}

class FunctionContext {
  constructor(cb) {
    this.statusCode = 200;
    this.cb = cb;
    this.headerValues = {};
    this.cbCalled = 0;
  }
  status(statusCode) {
    if (!statusCode) return this.statusCode;
    this.statusCode = statusCode;
    return this;
  }
  headers(value) {
    if (!value) return this.headerValues;
    this.headerValues = value;
    return this;
  }
  succeed(value) {
    this.cbCalled++;
    this.cb(undefined, value);
  }
  fail(value) {
    if (this.status() == '200') this.status(500);
    this.cbCalled++;
    this.cb(value);
  }
}

http
  .createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      // The template defaults a missing content type to text/plain; JSON is parsed, text kept.
      const type = req.headers['content-type'] || 'text/plain';
      let body = raw;
      if (type.startsWith('application/json')) {
        try {
          body = raw === '' ? {} : JSON.parse(raw);
        } catch {
          res.writeHead(400).end('invalid JSON');
          return;
        }
      }
      const cb = (err, result) => {
        if (err) {
          res.writeHead(fnContext.status()).end(String(err));
          return;
        }
        const isObject = result !== null && typeof result === 'object';
        res
          .writeHead(fnContext.status(), fnContext.headers())
          .end(isObject ? JSON.stringify(result) : result);
      };
      const fnEvent = new FunctionEvent(req, body);
      const fnContext = new FunctionContext(cb);
      Promise.resolve(handler(fnEvent, fnContext, cb))
        .then((r) => {
          if (!fnContext.cbCalled) fnContext.succeed(r);
        })
        .catch((e) => cb(e));
    });
  })
  .listen(Number(process.argv[3]), '127.0.0.1', () => process.stdout.write('listening\n'));
