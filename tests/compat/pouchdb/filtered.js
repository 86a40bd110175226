'use strict';
// Filtered pulls: `doc_ids` (PouchDB POSTs _changes?filter=_doc_ids) and `selector`
// (PouchDB 9 POSTs _changes?filter=_selector) copy exactly the matching documents, judged
// by PouchDB's own selector matcher (pouchdb-selector-core). A second filtered pull after new
// matching and non-matching writes (and, for doc_ids, a deletion) reads only what matches.

const { matchesSelector } = require('pouchdb-selector-core');
const {
  check, checkEqual, localDb, pad, range, replicate, run, tracedRemoteDb, uniqueName,
} = require('./common');

const REGIONS = ['north', 'south', 'east'];

function makeDocs() {
  const docs = range(120).map((i) => ({
    _id: `${i % 2 === 0 ? 'case' : 'visit'}-${pad(i)}`,
    type: i % 2 === 0 ? 'case' : 'visit',
    priority: i % 5 + 1,
    title: i % 3 === 0 ? `Pump station ${i}` : `Meter ${i}`,
    tags: i % 4 === 0 ? ['urgent', 'water'] : ['routine'],
    meta: { region: REGIONS[i % 3], visits: range(i % 4) },
    ...(i % 7 === 0 ? { closed: true } : {}),
  }));
  docs.push({ _id: 'a/b', type: 'case', priority: 5, tags: [], meta: { region: 'west' } });
  docs.push({ _id: 'ünï-文書', type: 'note', priority: 2, tags: ['urgent'], meta: {} });
  return docs;
}

const SELECTORS = [
  { type: 'case', priority: { $gte: 4 } },
  {
    $or: [{ 'meta.region': 'north' }, { tags: { $elemMatch: { $eq: 'urgent' } } }],
    type: { $in: ['case', 'note'] },
    closed: { $exists: false },
  },
  {
    title: { $regex: '^Pump' },
    'meta.visits': { $size: 2 },
    priority: { $nin: [1, 2], $ne: 5 },
  },
  { $nor: [{ type: 'visit' }, { priority: { $lt: 3 } }], 'meta.region': { $type: 'string' } },
];

function ids(docs) {
  return docs.map((d) => d._id).sort();
}

async function localIds(db) {
  return (await db.allDocs()).rows.map((row) => row.id).sort();
}

function lastChangesRequest(requests) {
  const changes = requests.filter((r) => r.path.endsWith('/_changes'));
  return changes[changes.length - 1];
}

run('filtered', async (url) => {
  const name = uniqueName('filtered');
  const { db: server, requests } = tracedRemoteDb(url, name);
  const docs = makeDocs();
  await server.bulkDocs(docs);

  // doc_ids, including one that does not exist.
  const wanted = ['case-0004', 'visit-0011', 'a/b', 'ünï-文書', 'no-such-doc'];
  const byIds = localDb('filtered-ids');
  const first = await replicate(server, byIds, { doc_ids: wanted });
  const sent = lastChangesRequest(requests);
  checkEqual([sent.method, sent.params.filter], ['POST', '_doc_ids'], 'doc_ids _changes request');
  checkEqual(await localIds(byIds), wanted.filter((id) => id !== 'no-such-doc').sort(),
    'doc_ids pull copied exactly the listed docs');
  checkEqual(first.docs_read, 4, 'doc_ids pull docs_read');

  // Second doc_ids pull: one listed doc deleted, one listed doc created, one unlisted doc.
  await server.remove(await server.get('visit-0011'));
  await server.put({ _id: 'no-such-doc', type: 'late' });
  await server.put({ _id: 'not-listed', type: 'late' });
  const second = await replicate(server, byIds, { doc_ids: wanted });
  checkEqual(second.docs_read, 2, 'second doc_ids pull reads the deletion and the new doc');
  checkEqual(await localIds(byIds), ['a/b', 'case-0004', 'no-such-doc', 'ünï-文書'],
    'after the second doc_ids pull');

  // Selectors, each into a fresh replica.
  const all = (await server.allDocs({ include_docs: true })).rows.map((row) => row.doc);
  const counts = [];
  for (const [i, selector] of SELECTORS.entries()) {
    const expected = ids(all.filter((doc) => matchesSelector(doc, selector)));
    check(expected.length > 0 && expected.length < all.length,
      `selector ${i} should match some but not all docs`, { selector, matched: expected.length });
    const target = localDb(`filtered-selector-${i}`);
    const result = await replicate(server, target, { selector });
    const request = lastChangesRequest(requests);
    checkEqual([request.method, request.params.filter], ['POST', '_selector'],
      `selector ${i}: _changes request`);
    checkEqual(await localIds(target), expected, `selector ${i} copied exactly the matching docs`);
    checkEqual(result.docs_written, expected.length, `selector ${i}: docs_written`);
    counts.push(expected.length);
  }

  // Resuming a selector pull: only the new matching doc is read.
  const resumed = localDb('filtered-selector-resume');
  await replicate(server, resumed, { selector: SELECTORS[0] });
  await server.bulkDocs([
    { _id: 'case-new-match', type: 'case', priority: 5 },
    { _id: 'case-new-miss', type: 'case', priority: 1 },
    { _id: 'visit-new-miss', type: 'visit', priority: 5 },
  ]);
  const resumedAgain = await replicate(server, resumed, { selector: SELECTORS[0] });
  checkEqual(resumedAgain.docs_read, 1, 'second selector pull reads only the new match');
  check((await localIds(resumed)).includes('case-new-match'), 'new match arrived');

  return {
    doc_ids_docs_read: first.docs_read,
    doc_ids_second_docs_read: second.docs_read,
    selector_matches: counts,
    selector_resume_docs_read: resumedAgain.docs_read,
  };
});
