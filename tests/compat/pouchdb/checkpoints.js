'use strict';
// Resuming from checkpoints on one running server: after a push and a pull, PouchDB's
// checkpoint documents exist on the server as `_local/<replication id>` (rev `0-N`, never in
// `_changes` or `_all_docs`), and a second replication after new writes starts from the
// checkpointed `since` and reads only the new documents, in both directions. A pull
// cancelled part-way resumes from its last checkpoint.

const {
  PouchDB, check, checkEqual, localDb, pad, range, rawJson, remoteDb, replicate,
  replicationSummary, run, tracedRemoteDb, uniqueName,
} = require('./common');

const INITIAL = 200;
const ADDED = 25;

function docs(prefix, from, count) {
  return range(count).map((i) => ({ _id: `${prefix}-${pad(from + i)}`, i: from + i }));
}

function checkpointIds(requests) {
  const ids = requests
    .filter((r) => r.method === 'PUT' && r.path.includes('/_local/'))
    .map((r) => r.path.slice(r.path.indexOf('/_local/') + 1));
  return [...new Set(ids)];
}

function changesSinces(requests) {
  return requests.filter((r) => r.path.endsWith('/_changes')).map((r) => r.params.since);
}

// The server-side checkpoint document and what the server lists for the database.
async function inspectCheckpoint(url, name, checkpointId) {
  const doc = await rawJson(url, `/${name}/${checkpointId}`);
  checkEqual(doc.status, 200, `GET ${checkpointId} on the server`);
  check(/^0-\d+$/.test(doc.body._rev), `checkpoint _rev should be 0-N, got ${doc.body._rev}`);
  check(doc.body.last_seq !== undefined && Array.isArray(doc.body.history),
    'checkpoint has last_seq and history', doc.body);
  const changes = await rawJson(url, `/${name}/_changes`);
  const allDocsRes = await rawJson(url, `/${name}/_all_docs`);
  const listed = [
    ...changes.body.results.map((row) => row.id),
    ...allDocsRes.body.rows.map((row) => row.id),
  ].filter((id) => id.startsWith('_local'));
  checkEqual(listed, [], '_local docs listed in _changes or _all_docs');
  return doc.body;
}

run('checkpoints', async (url) => {
  // Push direction: the server is the target.
  const pushName = uniqueName('ckpt-push');
  const pushTarget = tracedRemoteDb(url, pushName);
  const source = localDb('ckpt-push');
  await source.bulkDocs(docs('doc', 0, INITIAL));
  const firstPush = await replicate(source, pushTarget.db);
  checkEqual(firstPush.docs_read, INITIAL, 'first push docs_read');
  const pushCheckpoints = checkpointIds(pushTarget.requests);
  checkEqual(pushCheckpoints.length, 1, 'checkpoint documents PUT on the push target');
  const pushCheckpoint = await inspectCheckpoint(url, pushName, pushCheckpoints[0]);

  await source.bulkDocs(docs('doc', INITIAL, ADDED));
  pushTarget.requests.length = 0;
  const secondPush = await replicate(source, pushTarget.db);
  checkEqual(secondPush.docs_read, ADDED, 'second push reads only the new docs');
  checkEqual(secondPush.docs_written, ADDED, 'second push docs_written');
  checkEqual((await pushTarget.db.info()).doc_count, INITIAL + ADDED, 'push target doc_count');

  // Pull direction: the server is the source, so its _changes must resume at the checkpoint.
  const pullName = uniqueName('ckpt-pull');
  const pullSource = tracedRemoteDb(url, pullName);
  await remoteDb(url, pullName).bulkDocs(docs('doc', 0, INITIAL));
  const target = localDb('ckpt-pull');
  const firstPull = await replicate(pullSource.db, target);
  checkEqual(firstPull.docs_read, INITIAL, 'first pull docs_read');
  const pullCheckpoints = checkpointIds(pullSource.requests);
  checkEqual(pullCheckpoints.length, 1, 'checkpoint documents PUT on the pull source');
  const pullCheckpoint = await inspectCheckpoint(url, pullName, pullCheckpoints[0]);

  await remoteDb(url, pullName).bulkDocs(docs('doc', INITIAL, ADDED));
  pullSource.requests.length = 0;
  const secondPull = await replicate(pullSource.db, target);
  checkEqual(secondPull.docs_read, ADDED, 'second pull reads only the new docs');
  const sinces = changesSinces(pullSource.requests);
  checkEqual(sinces[0], String(pullCheckpoint.last_seq),
    'second pull asks _changes since the checkpointed seq');
  checkEqual((await target.info()).doc_count, INITIAL + ADDED, 'pull target doc_count');

  // An interrupted pull (cancelled after a few batches) resumes where its last checkpoint
  // left off instead of starting again.
  const partialTarget = localDb('ckpt-partial');
  const partial = PouchDB.replicate(remoteDb(url, pullName), partialTarget, { batch_size: 20 });
  const partialDone = new Promise((resolve) => partial.on('complete', resolve));
  partial.on('change', (info) => {
    if (info.docs_read >= 60) {
      partial.cancel();
    }
  });
  const interrupted = await partialDone;
  const total = INITIAL + ADDED;
  check(interrupted.docs_read >= 60 && interrupted.docs_read < total,
    'the interrupted pull stopped part-way', replicationSummary(interrupted));
  const resumedPull = await replicate(remoteDb(url, pullName), partialTarget, { batch_size: 20 });
  check(resumedPull.docs_read <= total - 60 + 20,
    'the resumed pull re-read at most one batch', {
      interrupted: interrupted.docs_read, resumed: resumedPull.docs_read,
    });
  checkEqual((await partialTarget.info()).doc_count, total, 'resumed pull doc_count');

  return {
    interrupted_docs_read: interrupted.docs_read,
    resumed_docs_read: resumedPull.docs_read,
    first_push_docs_read: firstPush.docs_read,
    second_push_docs_read: secondPush.docs_read,
    first_pull_docs_read: firstPull.docs_read,
    second_pull_docs_read: secondPull.docs_read,
    push_checkpoint_rev: pushCheckpoint._rev,
    pull_checkpoint_rev: pullCheckpoint._rev,
  };
});
