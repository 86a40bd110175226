'use strict';
// Bidirectional sync: a local PouchDB and the server each start with their own documents;
// one-shot PouchDB.sync leaves both with the union. Edits and deletions on both sides, then
// a second sync, leave them identical again (ids, revisions, bodies).

const {
  PouchDB, allDocs, check, checkEqual, idRevs, localDb, pad, range, remoteDb, run, uniqueName,
} = require('./common');

async function syncOnce(a, b) {
  const result = await PouchDB.sync(a, b);
  for (const [direction, part] of [['push', result.push], ['pull', result.pull]]) {
    check(
      part.ok && part.status === 'complete' && part.doc_write_failures === 0,
      `sync ${direction} did not complete cleanly`,
      { ok: part.ok, status: part.status, errors: (part.errors || []).map(String) },
    );
  }
  return result;
}

run('sync', async (url) => {
  const local = localDb('sync');
  const remote = remoteDb(url, uniqueName('sync'));
  await local.bulkDocs(range(100).map((i) => ({ _id: `local-${pad(i)}`, side: 'local', i })));
  await remote.bulkDocs(range(100).map((i) => ({ _id: `remote-${pad(i)}`, side: 'remote', i })));

  const first = await syncOnce(local, remote);
  checkEqual(first.push.docs_written, 100, 'first sync: push docs_written');
  checkEqual(first.pull.docs_written, 100, 'first sync: pull docs_written');
  checkEqual(await idRevs(local), await idRevs(remote), 'after first sync: ids/revs');
  checkEqual((await local.info()).doc_count, 200, 'after first sync: local doc_count');

  // Each side edits and deletes some of the other side's documents and adds new ones.
  for (const i of range(10)) {
    const doc = await local.get(`remote-${pad(i)}`);
    await local.put({ ...doc, touched_by: 'local' });
    const other = await remote.get(`local-${pad(i)}`);
    await remote.put({ ...other, touched_by: 'remote' });
  }
  for (const i of range(5)) {
    await local.remove(await local.get(`remote-${pad(50 + i)}`));
    await remote.remove(await remote.get(`local-${pad(50 + i)}`));
  }
  await local.bulkDocs(range(20).map((i) => ({ _id: `local-new-${pad(i)}`, i })));
  await remote.bulkDocs(range(20).map((i) => ({ _id: `remote-new-${pad(i)}`, i })));

  const second = await syncOnce(local, remote);
  // 10 edits, 5 deletions and 20 new documents each way.
  checkEqual(second.push.docs_written, 35, 'second sync: push docs_written');
  checkEqual(second.pull.docs_written, 35, 'second sync: pull docs_written');
  checkEqual(await idRevs(local), await idRevs(remote), 'after second sync: ids/revs');
  checkEqual(await allDocs(local), await allDocs(remote), 'after second sync: bodies');
  const doc = await remote.get(`remote-${pad(3)}`);
  checkEqual(doc.touched_by, 'local', 'a local edit on the server');

  const third = await syncOnce(local, remote);
  checkEqual([third.push.docs_read, third.pull.docs_read], [0, 0], 'third sync reads nothing');

  const info = await remote.info();
  return {
    first_push: first.push.docs_written,
    first_pull: first.pull.docs_written,
    second_push: second.push.docs_written,
    second_pull: second.pull.docs_written,
    doc_count: info.doc_count,
  };
});
