#!/usr/bin/env node
// s3server.js DIR BUCKET: an S3-compatible server on 127.0.0.1 (a free port)
// storing objects under DIR, with BUCKET created; prints "listening on
// 127.0.0.1:PORT". @20minutes/s3rver (tests/npm) checks SigV4 signatures
// against its one account, access key S3RVER, secret S3RVER. Its package
// ships no command, hence this launcher.
'use strict';
const S3rver = require('@20minutes/s3rver');

const [directory, bucket] = process.argv.slice(2);
const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true,
                            configureBuckets: [{ name: bucket }] });
server.run().then((a) => console.log('listening on 127.0.0.1:' + a.port),
                  (e) => { console.error('s3server: ' + e.message); process.exit(1); });
process.on('SIGTERM', () => process.exit(0));
