'use strict';
// The PouchDB side of bench/replicate_bench.py: stock PouchDB 9's replicator in Node, http to
// http, between two servers (neither database is local to this process).
//
//   node pouchdb_replicate.js SOURCE_URL TARGET_URL EXPECTED_DOCS
//
// The URLs carry the credentials (http://user:pass@127.0.0.1:PORT/db); default replication
// options. Only `PouchDB.replicate` is timed. Prints one JSON line:
// {"seconds": s, "docs_read": n, "docs_written": w, "doc_write_failures": f, "requests": r,
//  "http_seconds": h, "startup_seconds": t}; exits 1 with "FAIL: ..." on stderr when the
// replication did not write every document. `http_seconds` is the time at least one request
// to either server was in flight; `startup_seconds` is how long Node took from its start to
// the replication's start (loading PouchDB), which the caller's wall-clock time includes.

const PouchDB = require('pouchdb');

const WATCHDOG_MS = 30 * 60 * 1000;

// `stats` is shared by both databases, so that time when requests to both are in flight
// counts once.
function remoteDb(url, stats) {
  const timedFetch = async (target, options) => {
    if (stats.inFlight === 0) {
      stats.busySince = process.hrtime.bigint();
    }
    stats.inFlight += 1;
    stats.requests += 1;
    try {
      const response = await PouchDB.fetch(target, options);
      // Read the body here so the time the server takes to send it is counted.
      const body = [101, 204, 205, 304].includes(response.status)
        ? null
        : await response.arrayBuffer();
      const copy = new Response(body, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
      // PouchDB reads an attachment with node-fetch's `buffer()` when the response has one;
      // otherwise it takes a Blob, which its Node base64 helper garbles.
      copy.buffer = async () => Buffer.from(body || new ArrayBuffer(0));
      return copy;
    } finally {
      stats.inFlight -= 1;
      if (stats.inFlight === 0) {
        stats.httpNanos += process.hrtime.bigint() - stats.busySince;
      }
    }
  };
  return new PouchDB(url, { fetch: timedFetch });
}

async function run(sourceUrl, targetUrl, expected) {
  const stats = { requests: 0, httpNanos: 0n, inFlight: 0, busySince: 0n };
  const startup = process.uptime();
  const started = process.hrtime.bigint();
  const source = remoteDb(sourceUrl, stats);
  const target = remoteDb(targetUrl, stats);
  const result = await PouchDB.replicate(source, target);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!result.ok || result.doc_write_failures !== 0 || result.docs_written !== expected) {
    throw new Error(
      `replication incomplete: ok=${result.ok} written=${result.docs_written}/${expected} ` +
        `failures=${result.doc_write_failures} errors=${JSON.stringify(result.errors || [])}`,
    );
  }
  return {
    seconds,
    docs_read: result.docs_read,
    docs_written: result.docs_written,
    doc_write_failures: result.doc_write_failures,
    requests: stats.requests,
    http_seconds: Number(stats.httpNanos) / 1e9,
    startup_seconds: startup,
  };
}

function main() {
  const [sourceUrl, targetUrl, expected] = process.argv.slice(2);
  if (!sourceUrl || !targetUrl || !(Number(expected) > 0)) {
    process.stderr.write('FAIL: usage: node pouchdb_replicate.js SOURCE_URL TARGET_URL EXPECTED_DOCS\n');
    process.exit(2);
  }
  const watchdog = setTimeout(() => {
    process.stderr.write(`FAIL: watchdog expired after ${WATCHDOG_MS} ms\n`);
    process.exit(4);
  }, WATCHDOG_MS);
  run(sourceUrl, targetUrl, Number(expected)).then(
    (summary) => {
      clearTimeout(watchdog);
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      process.exit(0);
    },
    (err) => {
      clearTimeout(watchdog);
      const what = err ? `${err.status || ''} ${err.name || ''}: ${err.reason || err.message}` : '';
      process.stderr.write(`FAIL: ${what}\n${err && err.stack ? err.stack : JSON.stringify(err)}\n`);
      process.exit(1);
    },
  );
}

main();
