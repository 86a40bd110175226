'use strict';
// Push: a local PouchDB of a few hundred documents (awkward ids, nested values, a design
// doc, edited and deleted ones) replicates to the server, which then holds the same ids,
// revisions, bodies and revision histories; a second push has nothing to read.

const {
  allDocs, check, checkEqual, idRevs, localDb, pad, range, remoteDb, replicate, run, uniqueName,
} = require('./common');

const COUNT = 300;
const ODD_IDS = [
  'a/b', 'with space', 'ünïcødé-文書', 'percent%2Fliteral', 'q?x=1&y#z', '_design/app',
];

function makeDoc(i) {
  return {
    _id: `doc-${pad(i)}`,
    n: i,
    type: i % 3 === 0 ? 'case' : 'visit',
    nested: { tags: [`t${i % 7}`, `t${i % 5}`], ok: i % 2 === 0, nothing: null, ratio: i / 7 },
    text: `text ${'x'.repeat(i % 50)} é`,
  };
}

run('push', async (url) => {
  const local = localDb('push');
  const remote = remoteDb(url, uniqueName('push'));

  const docs = range(COUNT).map(makeDoc);
  docs.push(...ODD_IDS.map((id, i) => ({ _id: id, odd: i })));
  const written = await local.bulkDocs(docs);
  check(written.every((r) => r.ok), 'local bulkDocs failed', written.filter((r) => !r.ok));

  // Some history: 20 documents edited twice, 10 deleted.
  for (const i of range(20)) {
    let doc = await local.get(`doc-${pad(i)}`);
    for (const edit of [1, 2]) {
      doc.edit = edit;
      const res = await local.put(doc);
      doc = { ...doc, _rev: res.rev };
    }
  }
  for (const i of range(10)) {
    const doc = await local.get(`doc-${pad(100 + i)}`);
    await local.remove(doc);
  }

  const first = await replicate(local, remote);
  const total = COUNT + ODD_IDS.length;
  checkEqual(first.docs_read, total, 'first push docs_read');
  checkEqual(first.docs_written, total, 'first push docs_written');

  checkEqual(await idRevs(remote), await idRevs(local), 'server ids/revs differ from local');
  const localDocs = await allDocs(local);
  const remoteDocs = await allDocs(remote);
  checkEqual(remoteDocs, localDocs, 'server document bodies differ from local');

  // Histories: an edited document carries all three revisions on the server.
  const edited = await remote.get(`doc-${pad(0)}`, { revs: true });
  const editedLocal = await local.get(`doc-${pad(0)}`, { revs: true });
  checkEqual(edited._revisions, editedLocal._revisions, 'edited doc _revisions');
  checkEqual(edited._revisions.start, 3, 'edited doc generation');

  // Deletions arrived as tombstones.
  let deletedReason = null;
  try {
    await remote.get(`doc-${pad(100)}`);
  } catch (err) {
    deletedReason = `${err.status} ${err.reason}`;
  }
  checkEqual(deletedReason, '404 deleted', 'a deleted doc on the server');

  const info = await remote.info();
  checkEqual(info.doc_count, total - 10, 'server doc_count');
  checkEqual(info.doc_del_count, 10, 'server doc_del_count');

  const second = await replicate(local, remote);
  checkEqual(second.docs_read, 0, 'second push (nothing new) docs_read');
  checkEqual(second.docs_written, 0, 'second push docs_written');

  return {
    docs_written: first.docs_written,
    docs_read: first.docs_read,
    server_doc_count: info.doc_count,
    server_doc_del_count: info.doc_del_count,
    second_docs_read: second.docs_read,
  };
});
