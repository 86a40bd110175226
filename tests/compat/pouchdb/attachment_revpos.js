'use strict';
// Attachment revpos survives replication. PouchDB pushes every revision with its attachments
// inline and each carries the `revpos` it had on the source, in a `_bulk_docs` with
// new_edits=false. CouchDB keeps that revpos on replicated writes (couch_att:inline_from_json
// reads it; couch_db:update_docs(..., replicated_changes) does not call set_new_att_revpos),
// so the server reports the stubs of the source. Clients rely on it: CouchDB's replicator sends
// `atts_since` and CouchDB's merge_stubs rejects a stub whose revpos differs from the stored
// one (missing_stub).

const {
  checkEqual, localDb, pseudoRandomBytes, remoteDb, replicate, run, tracedRemoteDb, uniqueName,
} = require('./common');

function stubs(doc) {
  const out = {};
  for (const [name, a] of Object.entries(doc._attachments || {})) {
    out[name] = { digest: a.digest, length: a.length, revpos: a.revpos };
  }
  return out;
}

run('attachment_revpos', async (url) => {
  const name = uniqueName('revpos');
  const { db: server, requests } = tracedRemoteDb(url, name);
  const origin = localDb('revpos-origin');

  // Revision 1 with one attachment, revision 2 adds a second, revision 3 edits the body only.
  await origin.put({
    _id: 'photo',
    _attachments: { 'first.bin': { content_type: 'image/jpeg', data: pseudoRandomBytes(2048, 7) } },
  });
  let doc = await origin.get('photo');
  doc._attachments['second.bin'] = { content_type: 'image/jpeg', data: pseudoRandomBytes(1024, 8) };
  await origin.put(doc);
  doc = await origin.get('photo');
  await origin.put({ ...doc, caption: 'edited' });

  const originStubs = stubs(await origin.get('photo'));
  checkEqual(originStubs['first.bin'].revpos, 1, 'origin revpos of first.bin (PouchDB itself)');
  checkEqual(originStubs['second.bin'].revpos, 2, 'origin revpos of second.bin (PouchDB itself)');

  await replicate(origin, server);
  const sent = {};
  for (const request of requests.filter((r) => r.path.endsWith('/_bulk_docs'))) {
    const body = JSON.parse(request.body);
    checkEqual(body.new_edits, false, 'PouchDB pushes with new_edits=false');
    for (const [attName, att] of Object.entries(body.docs[0]._attachments)) {
      sent[attName] = att.revpos;
    }
  }
  checkEqual(sent, { 'first.bin': 1, 'second.bin': 2 }, 'revpos PouchDB sent inline');

  const serverStubs = stubs(await server.get('photo'));
  checkEqual(serverStubs, originStubs,
    'server stubs after a push of revision 3 (revpos sent inline with new_edits=false)');

  // Reading back through the http adapter (what a pulling client sees) gives the same stubs.
  // (A local PouchDB that then stores the pull resets revpos itself, as it does when
  // replicating between two local databases, so the pulled replica is not compared.)
  const viaGet = stubs(await remoteDb(url, name).get('photo', { revs: true }));
  checkEqual(viaGet, originStubs, 'stubs read back from the server');
  const bulk = await remoteDb(url, name).bulkGet({ docs: [{ id: 'photo' }], revs: true });
  checkEqual(stubs(bulk.results[0].docs[0].ok), originStubs, 'stubs in _bulk_get');

  return { origin: originStubs, server: serverStubs, sent };
});
