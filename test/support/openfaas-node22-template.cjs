// The OpenFaaS node22 template's server (template/node22/index.js of openfaas/templates, compared at
// commit 69ca16a), for the tests: that file is not published to any package registry reachable here,
// so this one does what it does, on the same real libraries it runs on (express 5 and body-parser 2,
// installed by scripts/provision-openfaas-template.sh). What matters for our handler is all here:
// - a request without Content-Type is given `text/plain` before any parser runs;
// - with RAW_BODY=true one raw parser takes every type (limit MAX_RAW_SIZE, default 100kb) and the
//   handler gets a Buffer; otherwise text/* is parsed as text, JSON as JSON (limit MAX_JSON_SIZE),
//   form types as a form (extended), and any other type (application/octet-stream) is not parsed;
// - a body a parser refuses (malformed JSON, too large) goes to express's own error handler, which
//   answers an HTML page (with the stack trace unless NODE_ENV=production), never the handler;
// - the handler gets (event, context, cb); an object or array it succeeds with is sent as JSON text
//   with the headers it set, anything else as express sends it; a thrown error is sent as its text.
// Laid out as the image lays it out: this file is index.js, the handler is ./function/handler.js,
// and it listens on $http_port (of-watchdog's upstream, 3000 by default).
'use strict';
const express = require('express');
const bodyParser = require('body-parser');
const handler = require('./function/handler');

const app = express();
app.disable('x-powered-by');

app.use((req, _res, next) => {
  if (!req.headers['content-type']) req.headers['content-type'] = 'text/plain';
  next();
});
if (process.env.RAW_BODY === 'true') {
  app.use(bodyParser.raw({ type: '*/*', limit: process.env.MAX_RAW_SIZE || '100kb' }));
} else {
  app.use(bodyParser.text({ type: 'text/*' }));
  app.use(bodyParser.json({ limit: process.env.MAX_JSON_SIZE || '100kb' }));
  app.use(bodyParser.urlencoded({ extended: true }));
}

const plainObjectOrArray = (v) => !!v && (v.constructor === Object || v.constructor === Array);

app.use((req, res) => {
  let statusCode = 200;
  let headerValues = {};
  let calls = 0;
  const cb = (err, result) => {
    if (err) {
      process.stderr.write(`${String(err && err.stack ? err.stack : err)}\n`);
      res.status(statusCode).send(err.toString ? err.toString() : err);
      return;
    }
    res.set(headerValues).status(statusCode);
    res.send(plainObjectOrArray(result) ? JSON.stringify(result) : result);
  };
  const context = {
    status(code) {
      if (!code) return statusCode;
      statusCode = code;
      return context;
    },
    headers(values) {
      if (!values) return headerValues;
      headerValues = values;
      return context;
    },
    succeed(value) {
      calls++;
      cb(undefined, value);
    },
    fail(value) {
      if (statusCode == 200) statusCode = 500;
      calls++;
      cb(value);
    },
  };
  const event = {
    body: req.body,
    headers: req.headers,
    method: req.method,
    query: req.query,
    path: req.path,
  };
  Promise.resolve(handler(event, context, cb))
    .then((value) => {
      if (!calls) context.succeed(value);
    })
    .catch((e) => cb(e));
});

const port = process.env.http_port || 3000;
app.listen(port, () => process.stdout.write(`node22 template listening on port: ${port}\n`));
