'use strict';
// Conflicts: two replicas A and B edit the same documents concurrently (same generation,
// different generations, delete vs edit, both delete, identical edits, independent creation)
// and push to the server; a third replica C pulls from the server. The server and C must
// hold the same leaves (open_revs=all), the same winner (CouchDB's rule: non-deleted first,
// then generation, then rev hash) and the same _conflicts; after A and B pull they agree
// too. Resolving a conflict on C replicates back through the server.

const {
  check, checkEqual, localDb, remoteDb, replicate, run, uniqueName,
} = require('./common');

const IDS = ['same-gen', 'a-longer', 'del-vs-edit', 'long-del-vs-edit', 'both-del', 'identical',
  'independent', 'x/slash conflict'];

async function edit(db, id, times, change) {
  for (let i = 0; i < times; i += 1) {
    const doc = await db.get(id);
    await db.put({ ...doc, ...change, step: i });
  }
}

async function remove(db, id) {
  await db.remove(await db.get(id));
}

function generation(rev) {
  return parseInt(rev.split('-')[0], 10);
}

// CouchDB's winning revision among the leaves, computed without asking any replica.
function expectedWinner(leaves) {
  const sorted = [...leaves].sort((x, y) => {
    if (x.deleted !== y.deleted) {
      return x.deleted ? 1 : -1;
    }
    if (generation(x.rev) !== generation(y.rev)) {
      return generation(y.rev) - generation(x.rev);
    }
    return x.rev < y.rev ? 1 : -1;
  });
  return sorted[0].rev;
}

// What a replica says about one document: leaves, winner, _conflicts.
async function view(db, id) {
  const openRevs = await db.get(id, { open_revs: 'all' });
  check(openRevs.every((entry) => entry.ok), `open_revs=all on ${db.name} ${id}: not all ok`,
    openRevs);
  const leaves = openRevs
    .map((entry) => ({ rev: entry.ok._rev, deleted: Boolean(entry.ok._deleted) }))
    .sort((x, y) => (x.rev < y.rev ? -1 : 1));
  const changes = await db.changes({ doc_ids: [id], include_docs: true, style: 'all_docs' });
  checkEqual(changes.results.length, 1, `_changes rows for ${id} on ${db.name}`);
  const row = changes.results[0];
  const state = {
    leaves,
    winner: row.doc._rev,
    deleted: Boolean(row.deleted),
    all_docs_revs: row.changes.map((c) => c.rev).sort(),
    conflicts: [],
  };
  if (!state.deleted) {
    const doc = await db.get(id, { conflicts: true });
    checkEqual(doc._rev, state.winner, `GET ${id} on ${db.name} returns the winner`);
    state.conflicts = (doc._conflicts || []).slice().sort();
  }
  return state;
}

async function views(db) {
  const result = {};
  for (const id of IDS) {
    result[id] = await view(db, id);
  }
  return result;
}

function checkConsistent(state, who) {
  for (const [id, s] of Object.entries(state)) {
    checkEqual(s.winner, expectedWinner(s.leaves), `${who}: winner of ${id} by CouchDB's rule`);
    const expectedConflicts = s.leaves
      .filter((leaf) => !leaf.deleted && leaf.rev !== s.winner)
      .map((leaf) => leaf.rev)
      .sort();
    if (!s.deleted) {
      checkEqual(s.conflicts, expectedConflicts, `${who}: _conflicts of ${id}`);
    }
    checkEqual(s.all_docs_revs, s.leaves.map((leaf) => leaf.rev).sort(),
      `${who}: style=all_docs revs of ${id} are the leaves`);
  }
}

run('conflicts', async (url) => {
  const server = remoteDb(url, uniqueName('conflicts'));
  const a = localDb('conflicts-a');
  const b = localDb('conflicts-b');
  await a.bulkDocs(IDS.filter((id) => id !== 'independent').map((_id) => ({ _id, v: 0 })));
  await replicate(a, server);
  await replicate(server, b);

  await edit(a, 'same-gen', 1, { by: 'a' });
  await edit(b, 'same-gen', 1, { by: 'b' });
  await edit(a, 'a-longer', 2, { by: 'a' });
  await edit(b, 'a-longer', 1, { by: 'b' });
  await remove(a, 'del-vs-edit');
  await edit(b, 'del-vs-edit', 1, { by: 'b' });
  await edit(a, 'long-del-vs-edit', 3, { by: 'a' });
  await remove(a, 'long-del-vs-edit');
  await edit(b, 'long-del-vs-edit', 1, { by: 'b' });
  await remove(a, 'both-del');
  await edit(b, 'both-del', 1, { by: 'b' });
  await remove(b, 'both-del');
  await edit(a, 'identical', 1, { same: true });
  await edit(b, 'identical', 1, { same: true });
  await a.put({ _id: 'independent', by: 'a' });
  await b.put({ _id: 'independent', by: 'b' });
  await edit(a, 'x/slash conflict', 1, { by: 'a' });
  await edit(b, 'x/slash conflict', 2, { by: 'b' });

  await replicate(a, server);
  await replicate(b, server);
  const c = localDb('conflicts-c');
  await replicate(server, c);

  const onServer = await views(server);
  const onC = await views(c);
  checkConsistent(onServer, 'server');
  checkConsistent(onC, 'replica C');
  for (const id of IDS) {
    checkEqual(onC[id], onServer[id], `replica C and the server disagree on ${id}`);
  }
  // Spot checks of the expected shapes.
  checkEqual(onServer['same-gen'].leaves.length, 2, 'same-gen has two leaves');
  checkEqual(onServer.identical.leaves.length, 1, 'identical edits make one leaf');
  checkEqual(onServer['long-del-vs-edit'].winner.startsWith('2-'), true,
    'a live generation-2 leaf beats a deleted generation-5 leaf');
  checkEqual(onServer['both-del'].deleted, true, 'both-del is deleted');
  checkEqual(onServer.independent.conflicts.length, 1, 'independent creation conflicts');

  await replicate(server, a);
  await replicate(server, b);
  const onA = await views(a);
  const onB = await views(b);
  for (const id of IDS) {
    checkEqual(onA[id], onServer[id], `replica A after pulling disagrees with the server on ${id}`);
    checkEqual(onB[id], onServer[id], `replica B after pulling disagrees with the server on ${id}`);
  }

  // Resolve 'same-gen' on C by deleting the losing leaf; the resolution reaches A.
  const loser = onC['same-gen'].conflicts[0];
  await c.remove('same-gen', loser);
  await replicate(c, server);
  await replicate(server, a);
  const resolved = await a.get('same-gen', { conflicts: true });
  checkEqual(resolved._conflicts, undefined, 'same-gen still in conflict on A after resolution');
  checkEqual((await server.get('same-gen', { conflicts: true }))._conflicts, undefined,
    'same-gen still in conflict on the server after resolution');

  const summary = {};
  for (const id of IDS) {
    summary[id] = { winner: onServer[id].winner, leaves: onServer[id].leaves.length,
      conflicts: onServer[id].conflicts.length, deleted: onServer[id].deleted };
  }
  return { docs: summary };
});
