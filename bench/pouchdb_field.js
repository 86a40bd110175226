'use strict';
// The PouchDB side of bench/field_bench.py: stock PouchDB 9 in Node, the memory adapter for
// the device's local database, the http adapter (default replication options) for the server.
//
//   node pouchdb_field.js push FILE URL [TOKEN]   the docs of FILE (a JSON array), loaded into
//                                                 a memory db untimed, replicated to URL
//   node pouchdb_field.js pull URL TOKEN COUNT    URL's documents into a fresh memory db;
//                                                 exactly COUNT must arrive
//
// URL is a database URL; with TOKEN every request carries `Authorization: Bearer TOKEN` (an
// enrolled device), else the credentials are in the URL. Only `PouchDB.replicate` is timed.
// Prints one JSON line: {"docs": n, "seconds": s, "docs_written": w, "http_seconds": h,
// "requests": r}; exits 1 with "FAIL: ..." on stderr when a document was refused or missing.
// `http_seconds` is the time at least one request to the server was in flight.

const crypto = require('node:crypto');
const fs = require('node:fs');

const PouchDB = require('pouchdb');
PouchDB.plugin(require('pouchdb-adapter-memory'));

const WATCHDOG_MS = 30 * 60 * 1000;
const FILL_BATCH = 1000;

function remoteDb(url, token, stats) {
  let inFlight = 0;
  let busySince = 0n;
  const timedFetch = async (target, options) => {
    if (token) {
      options.headers.set('Authorization', `Bearer ${token}`);
    }
    if (inFlight === 0) {
      busySince = process.hrtime.bigint();
    }
    inFlight += 1;
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
      inFlight -= 1;
      if (inFlight === 0) {
        stats.httpNanos += process.hrtime.bigint() - busySince;
      }
    }
  };
  return new PouchDB(url, { fetch: timedFetch });
}

function localDb(prefix) {
  return new PouchDB(`${prefix}-${crypto.randomUUID()}`, { adapter: 'memory' });
}

async function load(db, docs) {
  for (let start = 0; start < docs.length; start += FILL_BATCH) {
    const written = await db.bulkDocs(docs.slice(start, start + FILL_BATCH));
    const failed = written.filter((r) => !r.ok);
    if (failed.length) {
      throw new Error(`local bulkDocs failed: ${JSON.stringify(failed.slice(0, 3))}`);
    }
  }
}

async function timedReplication(source, target, count, stats) {
  const started = process.hrtime.bigint();
  const result = await PouchDB.replicate(source, target);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!result.ok || result.doc_write_failures !== 0 || result.docs_written !== count) {
    throw new Error(
      `replication incomplete: ok=${result.ok} written=${result.docs_written}/${count} ` +
        `failures=${result.doc_write_failures} errors=${JSON.stringify(result.errors || [])}`,
    );
  }
  return {
    docs: count,
    seconds,
    docs_written: result.docs_written,
    http_seconds: Number(stats.httpNanos) / 1e9,
    requests: stats.requests,
  };
}

const modes = {
  async push(file, url, token) {
    const docs = JSON.parse(fs.readFileSync(file, 'utf8'));
    const local = localDb('device');
    await load(local, docs);
    const stats = { requests: 0, httpNanos: 0n };
    return timedReplication(local, remoteDb(url, token, stats), docs.length, stats);
  },

  async pull(url, token, count) {
    const stats = { requests: 0, httpNanos: 0n };
    return timedReplication(remoteDb(url, token, stats), localDb('pull'), Number(count), stats);
  },
};

function main() {
  const [mode, ...args] = process.argv.slice(2);
  const usable = (mode === 'push' && args.length >= 2) || (mode === 'pull' && args.length === 3);
  if (!usable) {
    process.stderr.write(
      'FAIL: usage: node pouchdb_field.js push FILE URL [TOKEN] | pull URL TOKEN COUNT\n',
    );
    process.exit(2);
  }
  const watchdog = setTimeout(() => {
    process.stderr.write(`FAIL: ${mode}: watchdog expired after ${WATCHDOG_MS} ms\n`);
    process.exit(4);
  }, WATCHDOG_MS);
  modes[mode](...args).then(
    (summary) => {
      clearTimeout(watchdog);
      process.stdout.write(`${JSON.stringify({ mode, ...summary })}\n`);
      process.exit(0);
    },
    (err) => {
      clearTimeout(watchdog);
      const what = err ? `${err.status || ''} ${err.name || ''}: ${err.reason || err.message}` : '';
      process.stderr.write(`FAIL: ${mode}: ${what}\n${err && err.stack ? err.stack : ''}\n`);
      process.exit(1);
    },
  );
}

main();
