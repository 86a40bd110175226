'use strict';
// Live replication: a live, retrying PouchDB.sync picks up a document written on the server
// (by a plain HTTP PUT, while the longpoll feed is idle) and one written locally, each within
// a bounded time, then a server-side deletion; a live changes feed from since=now sees only
// later changes; a live selector-filtered pull picks up only matching documents; cancelling
// completes both replications promptly.

const {
  PouchDB, checkEqual, exists, localDb, rawJson, remoteDb, run, sleep, uniqueName, waitFor,
} = require('./common');

const PROPAGATION_LIMIT_MS = 10000;
const CANCEL_LIMIT_MS = 5000;

function completion(replication) {
  return new Promise((resolve) => {
    replication.on('complete', (info) => resolve(info));
  });
}

async function cancelWithin(replication, done, what) {
  const started = Date.now();
  replication.cancel();
  const timeout = sleep(CANCEL_LIMIT_MS).then(() => 'timeout');
  const outcome = await Promise.race([done, timeout]);
  if (outcome === 'timeout') {
    throw new Error(`${what}: no 'complete' event within ${CANCEL_LIMIT_MS} ms of cancel()`);
  }
  return Date.now() - started;
}

run('live', async (url) => {
  const name = uniqueName('live');
  const remote = remoteDb(url, name);
  await remote.bulkDocs([{ _id: 'seed-1', kind: 'seed' }, { _id: 'seed-2', kind: 'seed' }]);
  const local = localDb('live');

  const errors = [];
  const sync = PouchDB.sync(local, remote, { live: true, retry: true });
  sync.on('error', (err) => errors.push(String(err)));
  const syncDone = completion(sync);

  await waitFor(() => exists(local, 'seed-2'), 'the initial documents to arrive locally');
  // Let the pull side settle into an idle longpoll before writing on the server.
  await sleep(1000);

  const put = await rawJson(url, `/${name}/from-server`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ written: 'server' }),
  });
  checkEqual(put.status, 201, 'raw PUT on the server');
  const serverToLocalMs = await waitFor(
    () => exists(local, 'from-server'),
    'a server-side write to reach the live local replica',
    PROPAGATION_LIMIT_MS,
  );
  checkEqual((await local.get('from-server'))._rev, put.body.rev, 'rev of the pulled doc');

  await sleep(500);
  const localPut = await local.put({ _id: 'from-local', written: 'local' });
  const localToServerMs = await waitFor(
    async () => (await rawJson(url, `/${name}/from-local`)).status === 200,
    'a local write to reach the server',
    PROPAGATION_LIMIT_MS,
  );
  checkEqual((await remote.get('from-local'))._rev, localPut.rev, 'rev of the pushed doc');

  // A deletion on the server reaches the live local replica.
  const removed = await remote.remove(await remote.get('from-server'));
  const deletionMs = await waitFor(
    async () => !(await exists(local, 'from-server')),
    'a server-side deletion to reach the live local replica',
    PROPAGATION_LIMIT_MS,
  );
  const tombstone = await local.get('from-server', { rev: removed.rev });
  checkEqual(tombstone._deleted, true, 'the local tombstone');

  // A live changes feed on the server database from since=now sees only later changes.
  const seen = [];
  const feed = remote.changes({ live: true, since: 'now', include_docs: true });
  feed.on('change', (change) => seen.push(change.id));
  await sleep(500);
  await remote.put({ _id: 'after-now' });
  await waitFor(async () => seen.includes('after-now'), 'since=now live changes',
    PROPAGATION_LIMIT_MS);
  feed.cancel();
  checkEqual(seen, ['after-now'], 'live changes since=now');

  // Live pull filtered by selector: only matching documents arrive.
  const filteredLocal = localDb('live-filtered');
  const pull = PouchDB.replicate(remote, filteredLocal, {
    live: true,
    retry: true,
    selector: { kind: 'wanted' },
  });
  pull.on('error', (err) => errors.push(String(err)));
  const pullDone = completion(pull);
  await sleep(500);
  await remote.put({ _id: 'unwanted', kind: 'other' });
  await remote.put({ _id: 'wanted', kind: 'wanted' });
  const filteredMs = await waitFor(
    () => exists(filteredLocal, 'wanted'),
    'a matching server write to reach the live selector-filtered replica',
    PROPAGATION_LIMIT_MS,
  );
  await sleep(300);
  const filteredIds = (await filteredLocal.allDocs()).rows.map((row) => row.id);
  checkEqual(filteredIds, ['wanted'], 'live selector pull copied exactly the matching docs');

  const syncCancelMs = await cancelWithin(sync, syncDone, 'live sync');
  const pullCancelMs = await cancelWithin(pull, pullDone, 'live filtered pull');
  checkEqual(errors, [], 'errors emitted by the live replications');

  return {
    server_to_local_ms: serverToLocalMs,
    local_to_server_ms: localToServerMs,
    deletion_ms: deletionMs,
    filtered_ms: filteredMs,
    sync_cancel_ms: syncCancelMs,
    pull_cancel_ms: pullCancelMs,
    propagation_limit_ms: PROPAGATION_LIMIT_MS,
  };
});
