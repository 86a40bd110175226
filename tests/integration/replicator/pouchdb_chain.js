'use strict';
// PouchDB (Node) -> fieldhall, then (after fieldhall's replicator has run) fieldhall -> PouchDB.
//
//   node pouchdb_chain.js <dataset.json> <push db url> <pull db url>
//
// 1. loads the dataset ({"phases": [[docs...], ...]}, new_edits=false) into a memory PouchDB;
// 2. replicates it to <push db url> with PouchDB's replicator and prints {"pushed": n};
// 3. waits for a line on stdin (the Python side replicates push -> pull meanwhile);
// 4. replicates <pull db url> into a fresh memory PouchDB and compares every document's
//    open_revs=all (revs, attachments) with the original; prints {"ok": true, ...} or exits 1
//    with "FAIL: ..." on stderr.
const fs = require('node:fs');
const readline = require('node:readline');
const PouchDB = require('pouchdb');
PouchDB.plugin(require('pouchdb-adapter-memory'));

const WATCHDOG_MS = 600000;

function canonical(value) {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
      : v,
  );
}

async function allIds(db) {
  const changes = await db.changes({ style: 'all_docs', since: 0 });
  return changes.results.map((row) => row.id).sort();
}

// PouchDB resets an attachment's revpos (and drops length) when it stores replicated bytes,
// even PouchDB to PouchDB: attachments are compared by type, digest and bytes.
function withoutRevpos(doc) {
  const atts = doc._attachments || {};
  for (const name of Object.keys(atts)) {
    delete atts[name].revpos;
    delete atts[name].length;
  }
  return doc;
}

async function leaves(db, id) {
  const revs = await db.get(id, { open_revs: 'all', revs: true, attachments: true });
  return revs.map((entry) => canonical(withoutRevpos(entry.ok))).sort();
}

async function main() {
  const [datasetPath, pushUrl, pullUrl] = process.argv.slice(2);
  const dataset = JSON.parse(fs.readFileSync(datasetPath, 'utf8'));
  const origin = new PouchDB('origin', { adapter: 'memory' });
  for (const phase of dataset.phases) {
    for (let i = 0; i < phase.length; i += 500) {
      const result = await origin.bulkDocs(phase.slice(i, i + 500), { new_edits: false });
      const errors = result.filter((r) => r.error);
      if (errors.length) throw new Error(`loading: ${JSON.stringify(errors.slice(0, 3))}`);
    }
  }
  const push = await PouchDB.replicate(origin, new PouchDB(pushUrl), { batch_size: 200 });
  if (!push.ok || push.doc_write_failures) throw new Error(`push: ${JSON.stringify(push)}`);
  process.stdout.write(JSON.stringify({ pushed: push.docs_written }) + '\n');

  const lines = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => lines.once('line', resolve));
  lines.close();

  const copy = new PouchDB('copy', { adapter: 'memory' });
  const pull = await PouchDB.replicate(new PouchDB(pullUrl), copy, { batch_size: 200 });
  if (!pull.ok || pull.doc_write_failures) throw new Error(`pull: ${JSON.stringify(pull)}`);

  const ids = await allIds(origin);
  const copied = await allIds(copy);
  if (canonical(ids) !== canonical(copied)) {
    throw new Error(`ids differ: ${ids.length} in origin, ${copied.length} in copy`);
  }
  let leafCount = 0;
  let attachmentCount = 0;
  for (const id of ids) {
    const [a, b] = [await leaves(origin, id), await leaves(copy, id)];
    if (canonical(a) !== canonical(b)) {
      const [x, y] = [a.join(' '), b.join(' ')];
      let at = 0;
      while (at < x.length && x[at] === y[at]) at += 1;
      const from = Math.max(0, at - 300);
      throw new Error(
        `${id} differs at ${at}:\n  origin ...${x.slice(from, at + 300)}\n  copy   ...${y.slice(from, at + 300)}`,
      );
    }
    leafCount += a.length;
    attachmentCount += a.filter((doc) => doc.includes('"_attachments"')).length;
  }
  process.stdout.write(
    JSON.stringify({ ok: true, docs: ids.length, leaves: leafCount, with_attachments: attachmentCount, pulled: pull.docs_written }) + '\n',
  );
}

const watchdog = setTimeout(() => {
  process.stderr.write('FAIL: watchdog expired\n');
  process.exit(1);
}, WATCHDOG_MS);

main().then(
  () => {
    clearTimeout(watchdog);
    process.exit(0);
  },
  (err) => {
    process.stderr.write(`FAIL: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
