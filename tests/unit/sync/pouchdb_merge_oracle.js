'use strict';
// Oracle for tests/unit/sync/test_revtree_differential.py: replays revision-tree operation
// sequences through pouchdb-merge, the way PouchDB stores documents written with
// new_edits=false (that is, by replication).
//
// Usage: node tests/unit/sync/pouchdb_merge_oracle.js CASES.json   (cwd: the repository root)
//
// CASES.json: {"cases": [{"seed", "revs_limit", "ops": [{"start", "ids", "deleted"}]}]}; each op
// is a document's `_revisions` (newest id first) and its `_deleted` flag.
//
// Output, one JSON line each: first {"pouchdb_merge": version}, then per case, in input order,
// {"seed", "steps": [{"outcome", "winner", "dupes", "belowRoot"}], "leaves": [[rev, deleted]],
//  "winner", "conflicts", "nodes": {rev: parent-or-null}, "dupes"}.
//  - outcome: merge()'s `conflicts` ("new_leaf" | "new_branch" | "internal_node"), or "skipped"
//    when the leaf revision was already known and PouchDB does not merge at all;
//  - dupes (per step: before the merge; per case: at the end): how many revisions occur more than
//    once in PouchDB's tree. pouchdb-merge's stem() re-merges the stemmed paths with
//    dontExpand=true, so the same revision can end up in two trees of its forest;
//  - belowRoot: the path names the root of a tree in PouchDB's forest and that root's parent;
//  - leaves and conflicts are sorted but not deduplicated: a duplicated leaf shows up twice.

const fs = require('fs');
const pouchdbMerge = require('pouchdb-merge');
// parseDoc is what PouchDB's adapters run on every document given to bulkDocs: with
// new_edits=false it turns `_revisions` into a one-path tree (makeRevTreeFromRevisions), the
// leaf {status: 'available', deleted?}, every ancestor {status: 'missing'}.
const { parseDoc } = require('pouchdb-adapter-utils');

const { merge, winningRev, collectConflicts, collectLeaves, revExists, traverseRevTree } =
  pouchdbMerge;

function countDupes(revTree) {
  const seen = new Set();
  let dupes = 0;
  traverseRevTree(revTree, function (isLeaf, pos, id) {
    const rev = pos + '-' + id;
    if (seen.has(rev)) {
      dupes++;
    }
    seen.add(rev);
  });
  return dupes;
}

// rev -> parent rev (null for a root). A duplicated revision may be a root in one tree of the
// forest and have its parent in another: the parent wins. Two different parents would be a
// corrupt tree; report it so the test fails loudly.
function nodesOf(revTree) {
  const nodes = {};
  traverseRevTree(revTree, function (isLeaf, pos, id, parentRev) {
    const rev = pos + '-' + id;
    const parent = parentRev === undefined ? null : parentRev;
    const known = nodes[rev];
    if (known === undefined || known === null) {
      nodes[rev] = parent;
    } else if (parent !== null && parent !== known) {
      nodes[rev] = 'CORRUPT: parents ' + known + ' and ' + parent;
    }
    return rev;
  });
  return nodes;
}

// Does the path reach below the root of a tree in the forest (name that root and its parent)?
// Then pouchdb-merge's doMerge() merges the stored tree into the path rather than the path into
// the tree.
function reachesBelowRoot(revTree, path) {
  const revs = new Set();
  let node = path.ids;
  for (let pos = path.pos; node; pos++) {
    revs.add(pos + '-' + node[0]);
    node = node[2][0];
  }
  return revTree.some((tree) => tree.pos > path.pos && revs.has(tree.pos + '-' + tree.ids[0]));
}

function replay(testCase) {
  let revTree = [];
  const steps = [];
  for (const op of testCase.ops) {
    const doc = { _id: 'doc', _revisions: { start: op.start, ids: op.ids } };
    if (op.deleted) {
      doc._deleted = true;
    }
    const docInfo = parseDoc(doc, false);
    const dupes = countDupes(revTree);
    const path = docInfo.metadata.rev_tree[0];
    const belowRoot = reachesBelowRoot(revTree, path);
    let outcome;
    // pouchdb-adapter-utils' updateDoc(): a replicated revision the tree already holds is
    // acknowledged and not merged at all (CouchDB does the same in
    // couch_db:prep_and_validate_replicated_updates: "already exists in the tree. ignore").
    if (revTree.length && revExists(revTree, docInfo.metadata.rev)) {
      outcome = 'skipped';
    } else {
      // updateDoc() calls merge(prev.rev_tree, docInfo.metadata.rev_tree[0], revLimit). For the
      // very first revision PouchDB's insertDoc() stores the path without stemming it; CouchDB
      // stems every write (couch_db_updater:maybe_stem_full_doc_info), so we merge into the
      // empty tree, which stems, like CouchDB.
      const result = merge(revTree, path, testCase.revs_limit);
      revTree = result.tree;
      outcome = result.conflicts;
    }
    steps.push({ outcome, winner: winningRev({ rev_tree: revTree }), dupes, belowRoot });
  }
  const metadata = { rev_tree: revTree };
  const leaves = collectLeaves(revTree).map((leaf) => [leaf.rev, !!leaf.opts.deleted]);
  leaves.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {
    seed: testCase.seed,
    steps,
    leaves,
    winner: winningRev(metadata),
    conflicts: collectConflicts(metadata).sort(),
    nodes: nodesOf(revTree),
    dupes: countDupes(revTree),
  };
}

function main() {
  const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const version = require('pouchdb-merge/package.json').version;
  const lines = [JSON.stringify({ pouchdb_merge: version })];
  for (const testCase of input.cases) {
    lines.push(JSON.stringify(replay(testCase)));
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main();
