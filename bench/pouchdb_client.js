'use strict';
// The PouchDB side of bench/sync_bench.py: stock PouchDB 9 in Node, the memory adapter for the
// local database, the http adapter (default replication options) for the server.
//
//   node pouchdb_client.js push-docs        URL DB COUNT BYTES  (a) COUNT docs of ~BYTES JSON
//   node pouchdb_client.js pull             URL DB COUNT        (b) into a fresh memory db
//   node pouchdb_client.js push-attachments URL DB COUNT BYTES  (c) one BYTES attachment each
//
// URL carries the credentials (http://user:pass@127.0.0.1:PORT). Filling the local database
// is not timed; only `PouchDB.replicate` is. Prints one JSON line:
// {"docs": n, "seconds": s, "docs_written": w, "http_seconds": h, "requests": r, ...};
// exits 1 with "FAIL: ..." on stderr. `http_seconds` is the time at least one request to the
// server was in flight (sent until its body was read): the server's share of the wall time,
// the rest being PouchDB's own work in this process.

const crypto = require('node:crypto');

const PouchDB = require('pouchdb');
PouchDB.plugin(require('pouchdb-adapter-memory'));

const WATCHDOG_MS = 30 * 60 * 1000;
// Local writes go in batches so filling the memory db does not build one huge array.
const FILL_BATCH = 1000;

// A document whose JSON is about `bytes` long: a few fields plus random printable filler.
function makeDoc(i, bytes) {
  const doc = { _id: `doc-${String(i).padStart(7, '0')}`, type: 'case', n: i, text: '' };
  const filler = Math.max(0, bytes - JSON.stringify(doc).length);
  doc.text = crypto.randomBytes(filler).toString('base64').slice(0, filler);
  return doc;
}

// The server's database through PouchDB's own fetch, timing the requests in flight.
function remoteDb(url, name, stats) {
  let inFlight = 0;
  let busySince = 0n;
  const timedFetch = async (target, options) => {
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
      return new Response(body, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    } finally {
      inFlight -= 1;
      if (inFlight === 0) {
        stats.httpNanos += process.hrtime.bigint() - busySince;
      }
    }
  };
  return new PouchDB(`${url}/${name}`, { fetch: timedFetch });
}

function localDb(prefix) {
  return new PouchDB(`${prefix}-${crypto.randomUUID()}`, { adapter: 'memory' });
}

function newStats() {
  return { requests: 0, httpNanos: 0n };
}

async function fill(db, count, makeOne) {
  for (let start = 0; start < count; start += FILL_BATCH) {
    const docs = [];
    for (let i = start; i < Math.min(count, start + FILL_BATCH); i += 1) {
      docs.push(makeOne(i));
    }
    const written = await db.bulkDocs(docs);
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
  async 'push-docs'(url, name, count, bytes) {
    const local = localDb('push');
    await fill(local, count, (i) => makeDoc(i, bytes));
    const stats = newStats();
    return timedReplication(local, remoteDb(url, name, stats), count, stats);
  },

  async pull(url, name, count) {
    const stats = newStats();
    return timedReplication(remoteDb(url, name, stats), localDb('pull'), count, stats);
  },

  async 'push-attachments'(url, name, count, bytes) {
    const local = localDb('attachments');
    await fill(local, count, (i) => ({
      ...makeDoc(i, 200),
      _attachments: {
        'photo.jpg': { content_type: 'image/jpeg', data: crypto.randomBytes(bytes) },
      },
    }));
    const stats = newStats();
    const result = await timedReplication(local, remoteDb(url, name, stats), count, stats);
    return { ...result, bytes: count * bytes };
  },
};

function main() {
  const [mode, url, name, count, bytes] = process.argv.slice(2);
  if (!modes[mode] || !url || !name || !(Number(count) > 0)) {
    process.stderr.write(`FAIL: usage: node pouchdb_client.js ${Object.keys(modes).join('|')} URL DB COUNT [BYTES]\n`);
    process.exit(2);
  }
  const watchdog = setTimeout(() => {
    process.stderr.write(`FAIL: ${mode}: watchdog expired after ${WATCHDOG_MS} ms\n`);
    process.exit(4);
  }, WATCHDOG_MS);
  modes[mode](url.replace(/\/+$/, ''), name, Number(count), Number(bytes || 0)).then(
    (summary) => {
      clearTimeout(watchdog);
      process.stdout.write(`${JSON.stringify({ mode, ...summary })}\n`);
      process.exit(0);
    },
    (err) => {
      clearTimeout(watchdog);
      process.stderr.write(`FAIL: ${mode}: ${err && err.stack ? err.stack : JSON.stringify(err)}\n`);
      process.exit(1);
    },
  );
}

main();
