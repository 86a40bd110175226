'use strict';
// Shared by the PouchDB compatibility scenarios: stock PouchDB 9 (memory adapter for local
// databases, the http adapter for the server), a watchdog, assertions that fail with a clear
// message, and a JSON summary on stdout.
//
// A scenario is `node <script> <server url with credentials>`; it exits 0 after printing one
// JSON line (the summary), and non-zero with "FAIL: ..." on stderr otherwise (1: a check
// failed or an unexpected error; 2: usage; 3: PouchDB not installed; 4: watchdog).

const crypto = require('node:crypto');
const readline = require('node:readline');

let PouchDB;
try {
  PouchDB = require('pouchdb');
  PouchDB.plugin(require('pouchdb-adapter-memory'));
} catch (err) {
  process.stderr.write(
    `FAIL: cannot load pouchdb / pouchdb-adapter-memory (${err.message}); run \`npm ci\`\n`,
  );
  process.exit(3);
}

const DEFAULT_WATCHDOG_MS = 60000;

class CheckFailed extends Error {}

function check(condition, message, details) {
  if (!condition) {
    const suffix = details === undefined ? '' : `\n  details: ${clip(JSON.stringify(details))}`;
    throw new CheckFailed(message + suffix);
  }
}

// JSON with object keys sorted, so that key order (which CouchDB does not promise) is ignored.
function canonical(value) {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
      : v,
  );
}

function clip(value, limit = 1500) {
  const text = String(value);
  return text.length > limit ? `${text.slice(0, limit)}... (${text.length} chars)` : text;
}

// Deep equality ignoring key order; for arrays the message shows the first difference.
function checkEqual(actual, expected, message) {
  if (canonical(actual) === canonical(expected)) {
    return;
  }
  let where = '';
  if (Array.isArray(actual) && Array.isArray(expected)) {
    const n = Math.max(actual.length, expected.length);
    for (let i = 0; i < n; i += 1) {
      if (canonical(actual[i]) !== canonical(expected[i])) {
        where = ` (lengths ${actual.length}/${expected.length}, first difference at [${i}])`;
        actual = actual[i];
        expected = expected[i];
        break;
      }
    }
  }
  const lines = [
    `${message}${where}`,
    `  expected: ${clip(canonical(expected))}`,
    `  actual:   ${clip(canonical(actual))}`,
  ];
  throw new CheckFailed(lines.join('\n'));
}

function serverUrl() {
  const url = process.argv[2] || process.env.COUCH_URL;
  if (!url) {
    process.stderr.write('FAIL: usage: node <scenario>.js http://user:pass@127.0.0.1:PORT\n');
    process.exit(2);
  }
  return url.replace(/\/+$/, '');
}

function uniqueName(prefix) {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

function localDb(prefix) {
  return new PouchDB(uniqueName(`local-${prefix}`), { adapter: 'memory' });
}

function remoteDb(url, name) {
  return new PouchDB(`${url}/${name}`);
}

// A server database whose HTTP requests are recorded ({method, path, params, body}) through the
// http adapter's `fetch` option, still sent by PouchDB's own fetch.
function tracedRemoteDb(url, name) {
  const requests = [];
  const db = new PouchDB(`${url}/${name}`, {
    fetch: (target, options) => {
      const parsed = new URL(target);
      requests.push({
        method: (options && options.method) || 'GET',
        path: decodeURIComponent(parsed.pathname),
        params: Object.fromEntries(parsed.searchParams),
        body: options && typeof options.body === 'string' ? options.body : undefined,
      });
      return PouchDB.fetch(target, options);
    },
  });
  return { db, requests };
}

// Raw HTTP against the server, for checks PouchDB's API does not expose (raw attachment
// bytes, _changes as CouchDB sends it). Credentials move from the URL to a Basic header
// because fetch refuses URLs that carry them.
async function rawFetch(url, path, init = {}) {
  const parsed = new URL(url);
  const auth = Buffer.from(
    `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`,
  ).toString('base64');
  parsed.username = '';
  parsed.password = '';
  const headers = { Authorization: `Basic ${auth}`, ...(init.headers || {}) };
  return fetch(parsed.toString().replace(/\/+$/, '') + path, { ...init, headers });
}

async function rawJson(url, path, init = {}) {
  const response = await rawFetch(url, path, init);
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    const method = init.method || 'GET';
    throw new CheckFailed(`${method} ${path}: not JSON (${response.status}): ${clip(text)}`);
  }
  return { status: response.status, body };
}

function range(n) {
  return Array.from({ length: n }, (_, i) => i);
}

function pad(i) {
  return String(i).padStart(4, '0');
}

async function allDocs(db) {
  const res = await db.allDocs({ include_docs: true });
  return res.rows.map((row) => row.doc);
}

// [{id, rev}] sorted by id: what two replicas must agree on.
async function idRevs(db) {
  const res = await db.allDocs();
  return res.rows.map((row) => ({ id: row.id, rev: row.value.rev }));
}

function replicationSummary(result) {
  return {
    ok: result.ok,
    status: result.status,
    docs_read: result.docs_read,
    docs_written: result.docs_written,
    doc_write_failures: result.doc_write_failures,
    errors: (result.errors || []).map(String),
  };
}

// A one-shot replication's result, failing on errors or write failures.
async function replicate(source, target, options = {}) {
  const result = await PouchDB.replicate(source, target, options);
  check(
    result.ok && result.status === 'complete' && result.doc_write_failures === 0,
    `replication ${source.name} -> ${target.name} did not complete cleanly`,
    replicationSummary(result),
  );
  return result;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Polls `predicate` every `intervalMs` until true or `timeoutMs` elapse; returns elapsed ms.
async function waitFor(predicate, what, timeoutMs = 10000, intervalMs = 50) {
  const started = Date.now();
  const attempts = Math.ceil(timeoutMs / intervalMs) + 1;
  for (let i = 0; i < attempts; i += 1) {
    if (await predicate()) {
      return Date.now() - started;
    }
    if (Date.now() - started > timeoutMs) {
      break;
    }
    await sleep(intervalMs);
  }
  throw new CheckFailed(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function exists(db, id) {
  try {
    await db.get(id);
    return true;
  } catch (err) {
    if (err.status === 404) {
      return false;
    }
    throw err;
  }
}

function md5Digest(buffer) {
  return `md5-${crypto.createHash('md5').update(buffer).digest('base64')}`;
}

function sha256(buffer) {
  return crypto.createHash('sha256').update(buffer).digest('hex');
}

// Deterministic pseudo-random bytes (so a failure reproduces): a seeded xorshift.
function pseudoRandomBytes(length, seed) {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i += 1) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

// Reads one line from stdin (the test driver's answer to a request we printed), bounded.
function readLine(timeoutMs) {
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: process.stdin });
    const timer = setTimeout(() => {
      rl.close();
      reject(new CheckFailed(`no answer on stdin within ${timeoutMs} ms`));
    }, timeoutMs);
    rl.once('line', (line) => {
      clearTimeout(timer);
      rl.close();
      resolve(line.trim());
    });
  });
}

function describeError(err) {
  if (err instanceof CheckFailed) {
    return err.message;
  }
  const fields = {};
  for (const key of ['status', 'name', 'error', 'reason', 'message', 'docId', 'id']) {
    if (err && err[key] !== undefined) {
      fields[key] = err[key];
    }
  }
  return `unexpected error: ${JSON.stringify(fields)}\n${err && err.stack ? err.stack : err}`;
}

// Runs a scenario: `body(url)` returns the summary object.
function run(scenario, body, watchdogMs = DEFAULT_WATCHDOG_MS) {
  const watchdog = setTimeout(() => {
    process.stderr.write(`FAIL: ${scenario}: watchdog expired after ${watchdogMs} ms\n`);
    process.exit(4);
  }, watchdogMs);
  const url = serverUrl();
  body(url).then(
    (summary) => {
      clearTimeout(watchdog);
      process.stdout.write(`${JSON.stringify({ scenario, ok: true, ...summary })}\n`);
      process.exit(0);
    },
    (err) => {
      clearTimeout(watchdog);
      process.stderr.write(`FAIL: ${scenario}: ${describeError(err)}\n`);
      process.exit(1);
    },
  );
}

module.exports = {
  PouchDB,
  allDocs,
  check,
  checkEqual,
  exists,
  idRevs,
  localDb,
  md5Digest,
  pad,
  pseudoRandomBytes,
  range,
  rawFetch,
  rawJson,
  readLine,
  remoteDb,
  replicate,
  replicationSummary,
  run,
  sha256,
  sleep,
  tracedRemoteDb,
  uniqueName,
  waitFor,
};
