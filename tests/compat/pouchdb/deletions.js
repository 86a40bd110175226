'use strict';
// Deletions both ways: tombstones made locally (including one that keeps body fields) reach
// the server and tombstones made on the server (PouchDB remove and a raw DELETE ?rev=)
// reach the local replica; each side then reports 404 "deleted", leaves the doc out of
// _all_docs but lists it in _all_docs?keys= and _changes as deleted; a deleted doc's
// attachments are gone. A deleted doc
// recreated on either side replicates as a live doc with the same new revision.

const {
  check, checkEqual, idRevs, localDb, pad, range, rawJson, remoteDb, replicate, run, uniqueName,
} = require('./common');

async function reasonOf(db, id) {
  try {
    await db.get(id);
    return 'found';
  } catch (err) {
    return `${err.status} ${err.reason}`;
  }
}

async function checkDeleted(db, ids, who) {
  for (const id of ids) {
    checkEqual(await reasonOf(db, id), '404 deleted', `${who}: GET ${id}`);
  }
  const listed = (await db.allDocs()).rows.map((row) => row.id);
  checkEqual(listed.filter((id) => ids.includes(id)), [], `${who}: deleted ids in _all_docs`);
  const byKeys = await db.allDocs({ keys: ids });
  for (const row of byKeys.rows) {
    check(row.value && row.value.deleted === true,
      `${who}: _all_docs?keys= row for ${row.key}`, row);
  }
  const changes = await db.changes({ doc_ids: ids });
  checkEqual(changes.results.map((r) => Boolean(r.deleted)), ids.map(() => true),
    `${who}: _changes marks deleted docs`);
}

run('deletions', async (url) => {
  const name = uniqueName('deletions');
  const server = remoteDb(url, name);
  await server.bulkDocs(range(60).map((i) => ({ _id: `doc-${pad(i)}`, i })));
  const local = localDb('deletions');
  await replicate(server, local);

  // Local deletions, one of them keeping a body field on the tombstone.
  const localDeleted = range(10).map((i) => `doc-${pad(i)}`);
  for (const id of localDeleted.slice(1)) {
    await local.remove(await local.get(id));
  }
  const keep = await local.get(localDeleted[0]);
  const tomb = await local.put({ _id: keep._id, _rev: keep._rev, _deleted: true, why: 'closed' });
  const pushed = await replicate(local, server);
  checkEqual(pushed.docs_written, 10, 'push of 10 tombstones');
  await checkDeleted(server, localDeleted, 'server');
  const tombOnServer = await server.get(localDeleted[0], { rev: tomb.rev });
  checkEqual(tombOnServer, { _id: keep._id, _rev: tomb.rev, _deleted: true, why: 'closed' },
    'tombstone body on the server (GET ?rev=)');

  // Server deletions: PouchDB remove over HTTP, and a raw DELETE with ?rev=.
  const serverDeleted = range(10).map((i) => `doc-${pad(20 + i)}`);
  for (const id of serverDeleted.slice(1)) {
    await server.remove(await server.get(id));
  }
  const raw = await server.get(serverDeleted[0]);
  const rawDelete = await rawJson(url, `/${name}/${serverDeleted[0]}?rev=${raw._rev}`, {
    method: 'DELETE',
  });
  checkEqual(rawDelete.status, 200, 'raw DELETE ?rev= status');
  const pulled = await replicate(server, local);
  checkEqual(pulled.docs_written, 10, 'pull of 10 tombstones');
  await checkDeleted(local, serverDeleted, 'local');

  checkEqual((await server.info()).doc_count, 40, 'server doc_count');
  checkEqual((await server.info()).doc_del_count, 20, 'server doc_del_count');
  checkEqual((await local.info()).doc_count, 40, 'local doc_count');

  // A document with an attachment, deleted locally: the tombstone has no attachment.
  await local.put({
    _id: 'with-att',
    _attachments: {
      'a.bin': { content_type: 'application/octet-stream', data: Buffer.from('xyz') },
    },
  });
  await replicate(local, server);
  await local.remove(await local.get('with-att'));
  await replicate(local, server);
  checkEqual(await reasonOf(server, 'with-att'), '404 deleted', 'server: GET with-att');
  const attAfterDelete = await rawJson(url, `/${name}/with-att/a.bin`);
  checkEqual(attAfterDelete.status, 404, 'attachment of a deleted doc');

  // Recreation after deletion, on each side.
  const recreatedLocally = await local.put({ _id: localDeleted[1], again: 'local' });
  const recreatedOnServer = await server.put({ _id: serverDeleted[1], again: 'server' });
  checkEqual(recreatedLocally.rev.split('-')[0], '3', 'local recreation extends the tombstone');
  checkEqual(recreatedOnServer.rev.split('-')[0], '3', 'server recreation extends the tombstone');
  await replicate(local, server);
  await replicate(server, local);
  checkEqual((await server.get(localDeleted[1]))._rev, recreatedLocally.rev, 'recreated on server');
  checkEqual((await local.get(serverDeleted[1]))._rev, recreatedOnServer.rev, 'recreated locally');
  checkEqual(await idRevs(local), await idRevs(server), 'final ids/revs');

  return {
    pushed_tombstones: pushed.docs_written,
    pulled_tombstones: pulled.docs_written,
    doc_count: (await server.info()).doc_count,
  };
});
