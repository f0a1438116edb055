#!/usr/bin/env node
// s3proxy.js PORT UPSTREAM_PORT PORT_FILE: a fault-injecting HTTP proxy in
// front of an S3-compatible server (tests/integration/upload.sh). It forwards
// every request to 127.0.0.1:UPSTREAM_PORT unchanged (so signatures stay
// valid) and counts what it forwarded; PORT 0 picks a free port, written to
// PORT_FILE once listening. Faults, set through /__proxy/ (no S3 bucket name
// starts with '_'):
//   /__proxy/fail?status=500&count=N   the next N PUTs are answered with status
//                                      (an S3 error body), not forwarded
//   /__proxy/delay?ms=M&count=N        the next N PUTs are forwarded, and the
//                                      upstream's answer is held M ms (stored,
//                                      but the client may give up first)
//   /__proxy/stats                     JSON: per key PUTs forwarded and PUTs the
//                                      upstream accepted, HEADs, injected faults
// Node's standard library only.
'use strict';
const http = require('http');

const [port, upstreamPort, portFile] = process.argv.slice(2);
const faults = { fail: 0, failStatus: 500, delay: 0, delayMs: 0 };
const stats = { put_forwarded: {}, put_ok: {}, head: 0, injected: 0, delayed: 0, requests: 0 };

function keyOf(url) {
  return decodeURIComponent(url.split('?')[0]);
}

function control(req, res) {
  const u = new URL(req.url, 'http://x');
  const n = (name, dflt) => Number(u.searchParams.get(name) ?? dflt);
  if (u.pathname === '/__proxy/fail') {
    faults.fail = n('count', 1);
    faults.failStatus = n('status', 500);
  } else if (u.pathname === '/__proxy/delay') {
    faults.delay = n('count', 1);
    faults.delayMs = n('ms', 1000);
  } else if (u.pathname !== '/__proxy/stats') {
    res.writeHead(404).end('unknown control path\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ faults, stats }) + '\n');
}

function injectFailure(req, res) {
  faults.fail--;
  stats.injected++;
  req.resume();
  req.on('end', () => {
    const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>' +
      '<Message>injected by s3proxy</Message></Error>';
    res.writeHead(faults.failStatus, { 'content-type': 'application/xml' });
    res.end(body);
  });
}

function forward(req, res) {
  const key = keyOf(req.url);
  let hold = 0;
  if (req.method === 'PUT') {
    stats.put_forwarded[key] = (stats.put_forwarded[key] || 0) + 1;
    if (faults.delay > 0) {
      faults.delay--;
      stats.delayed++;
      hold = faults.delayMs;
    }
  } else if (req.method === 'HEAD') {
    stats.head++;
  }
  const up = http.request({ host: '127.0.0.1', port: Number(upstreamPort), method: req.method,
                            path: req.url, headers: req.headers }, (ur) => {
    if (req.method === 'PUT' && ur.statusCode >= 200 && ur.statusCode < 300)
      stats.put_ok[key] = (stats.put_ok[key] || 0) + 1;
    const chunks = [];
    ur.on('data', (c) => chunks.push(c));
    ur.on('end', () => setTimeout(() => {
      if (res.destroyed)
        return;
      res.writeHead(ur.statusCode, ur.headers);
      res.end(Buffer.concat(chunks));
    }, hold));
  });
  up.on('error', (e) => {
    res.writeHead(502).end('upstream: ' + e.message + '\n');
  });
  req.pipe(up);
}

const server = http.createServer((req, res) => {
  stats.requests++;
  if (req.url.startsWith('/__proxy/'))
    control(req, res);
  else if (req.method === 'PUT' && faults.fail > 0)
    injectFailure(req, res);
  else
    forward(req, res);
  res.on('error', () => {});
});
server.on('clientError', (e, sock) => sock.destroy());
server.listen(Number(port), '127.0.0.1', () => {
  const p = server.address().port;
  require('fs').writeFileSync(portFile, String(p) + '\n');
  console.log('s3proxy listening on 127.0.0.1:' + p + ', upstream 127.0.0.1:' + upstreamPort);
});
process.on('SIGTERM', () => process.exit(0));
