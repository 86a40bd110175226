'use strict';
// Pull: documents written on the server over HTTP (bulk and single writes, edits,
// deletions, awkward ids) replicate into a fresh local PouchDB that then holds the same
// ids, revisions, bodies and histories; a second pull has nothing to read.

const {
  allDocs, check, checkEqual, idRevs, localDb, pad, range, remoteDb, replicate, run, uniqueName,
} = require('./common');

const COUNT = 300;
const ODD_IDS = ['a/b', 'with space', 'ünïcødé-文書', 'percent%2Fliteral', '_design/app'];

run('pull', async (url) => {
  const remote = remoteDb(url, uniqueName('pull'));
  const docs = range(COUNT).map((i) => ({
    _id: `doc-${pad(i)}`,
    n: i,
    list: range(i % 10),
    obj: { a: { b: { c: i } }, s: 'ß∂ƒ' },
  }));
  const written = await remote.bulkDocs(docs);
  check(written.every((r) => r.ok), 'server _bulk_docs failed', written.filter((r) => !r.ok));
  for (const [i, id] of ODD_IDS.entries()) {
    await remote.put({ _id: id, odd: i });
  }
  // 30 documents edited three times on the server, 15 deleted.
  for (const i of range(30)) {
    for (const edit of [1, 2, 3]) {
      const doc = await remote.get(`doc-${pad(i)}`);
      await remote.put({ ...doc, edit });
    }
  }
  for (const i of range(15)) {
    const doc = await remote.get(`doc-${pad(200 + i)}`);
    await remote.remove(doc);
  }

  const local = localDb('pull');
  const first = await replicate(remote, local);
  const total = COUNT + ODD_IDS.length;
  checkEqual(first.docs_read, total, 'first pull docs_read');
  checkEqual(first.docs_written, total, 'first pull docs_written');

  checkEqual(await idRevs(local), await idRevs(remote), 'local ids/revs differ from server');
  checkEqual(await allDocs(local), await allDocs(remote), 'local bodies differ from server');

  const edited = await local.get(`doc-${pad(0)}`, { revs: true });
  const editedRemote = await remote.get(`doc-${pad(0)}`, { revs: true });
  checkEqual(edited._revisions, editedRemote._revisions, 'pulled doc _revisions');
  checkEqual(edited._revisions.start, 4, 'pulled doc generation');

  let deleted = null;
  try {
    await local.get(`doc-${pad(200)}`);
  } catch (err) {
    deleted = `${err.status} ${err.reason}`;
  }
  checkEqual(deleted, '404 deleted', 'a doc deleted on the server, in the pulled replica');

  const info = await local.info();
  checkEqual(info.doc_count, total - 15, 'local doc_count');

  const second = await replicate(remote, local);
  checkEqual(second.docs_read, 0, 'second pull (nothing new) docs_read');

  return {
    docs_read: first.docs_read,
    docs_written: first.docs_written,
    local_doc_count: info.doc_count,
    second_docs_read: second.docs_read,
  };
});
