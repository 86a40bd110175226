"""Differential test: ``fieldhall.sync.revtree`` against PouchDB's ``pouchdb-merge``.

A seeded generator writes the history of one document as several replicas would: linear edits,
conflicting branches from random ancestors, deletions, re-sent known revisions, and paths cut to
their newest revisions as a stemmed replica sends them. Every case is replayed by ``merge_path``
here and, in a single ``node`` process, by ``pouchdb-merge`` (``pouchdb_merge_oracle.js``) the way
PouchDB stores replicated (``new_edits=false``) writes. After each write we compare the merge
outcome and the winner; at the end the leaves (with their deleted flags), conflicts, deleted
conflicts and every stored revision with its parent, which checks stemming too.

Where pouchdb-merge and CouchDB's ``couch_key_tree`` disagree, revtree follows CouchDB and the
comparison excludes exactly those cases: the comment above :func:`_compare` lists them.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fieldhall.sync.revtree import (
    MergeOutcome,
    RevNode,
    conflicts,
    deleted_conflicts,
    generation,
    leaves,
    merge_path,
    winning_rev,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
ORACLE = Path(__file__).with_name("pouchdb_merge_oracle.js")
NODE_PACKAGES = ("pouchdb-merge", "pouchdb-adapter-utils")

CASES = 10_000
BASE_SEED = 20_240_601
NODE_TIMEOUT_S = 50
SHOWN_FAILURES = 3  # cases printed in full when the test fails; the rest by seed

# A replica names a revision after its parent, the edit and the deleted flag (CouchDB and
# PouchDB hash the body, parent and flag), so one rev id never has two parents or two flags.
# Few labels mean two replicas sometimes make "the same" edit and agree on its id.
BRANCH_LABELS = "abcdef"


@dataclass(frozen=True, slots=True)
class Op:
    """One replicated write: ``_revisions`` as a path, newest first, and ``_deleted``."""

    path: tuple[str, ...]
    deleted: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "start": generation(self.path[0]),
            "ids": [rev.partition("-")[2] for rev in self.path],
            "deleted": self.deleted,
        }

    def __str__(self) -> str:
        flag = " _deleted" if self.deleted else ""
        return f"{self.path[0]}{flag} _revisions={json.dumps(self.to_json()['ids'])}"


@dataclass(frozen=True, slots=True)
class Case:
    seed: int
    revs_limit: int
    ops: tuple[Op, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "revs_limit": self.revs_limit,
            "ops": [op.to_json() for op in self.ops],
        }

    def describe(self) -> str:
        lines = [f"seed={self.seed} revs_limit={self.revs_limit} ({len(self.ops)} writes):"]
        lines += [f"  {index}: {op}" for index, op in enumerate(self.ops)]
        return "\n".join(lines)


def generate_case(seed: int) -> Case:
    """The writes one document receives, reproducible from ``seed`` alone."""
    rng = random.Random(seed)
    revs_limit = 1000 if rng.random() < 0.15 else rng.randint(1, 20)
    history: dict[str, RevNode] = {}  # every revision any replica wrote, never stemmed

    def new_rev(parent: str | None, deleted: bool) -> str:
        label = rng.choice(BRANCH_LABELS)
        flag = "deleted" if deleted else "live"
        digest = hashlib.md5(f"{parent}|{label}|{flag}".encode()).hexdigest()
        rev = f"{1 if parent is None else generation(parent) + 1}-{digest}"
        history.setdefault(rev, RevNode(parent, deleted))
        return rev

    def edits(parent: str | None, count: int, delete_probability: float) -> str:
        rev = parent
        for index in range(count):
            last = index == count - 1
            rev = new_rev(rev, deleted=last and rng.random() < delete_probability)
        assert rev is not None
        return rev

    def history_leaves() -> list[str]:
        parents = {node.parent for node in history.values()}
        return [rev for rev in history if rev not in parents]

    ops: list[Op] = []
    for _ in range(rng.randint(1, 24)):
        kind = rng.random()
        if not history or kind < 0.04:  # a replica created the document independently
            leaf = edits(None, rng.randint(1, 3), 0.1)
        elif kind < 0.45:  # linear edits on a leaf, one or several between two replications
            count = 1 if rng.random() < 0.7 else rng.randint(2, 6)
            leaf = edits(rng.choice(history_leaves()), count, 0.15)
        elif kind < 0.65:  # a conflicting branch from any ancestor
            leaf = edits(rng.choice(list(history)), rng.randint(1, 4), 0.15)
        elif kind < 0.75:  # a deletion (tombstone) of a leaf
            leaf = new_rev(rng.choice(history_leaves()), deleted=True)
        else:  # a revision sent again: a known leaf, an internal one, or one stemmed away
            leaf = rng.choice(list(history))
        path = [leaf]
        while (parent := history[path[-1]].parent) is not None:
            path.append(parent)
        if rng.random() < 0.4:  # the sender has stemmed: only its newest revisions travel
            del path[rng.randint(1, len(path)) :]
        ops.append(Op(tuple(path), history[leaf].deleted))
    return Case(seed, revs_limit, tuple(ops))


@dataclass(frozen=True, slots=True)
class Step:
    outcome: MergeOutcome
    winner: str
    disjoint: bool  # the path shares no revision with the (non-empty) tree


@dataclass(slots=True)
class Replayed:
    tree: dict[str, RevNode] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)


def replay(case: Case) -> Replayed:
    result = Replayed()
    for op in case.ops:
        before = result.tree
        disjoint = bool(before) and not any(rev in before for rev in op.path)
        result.tree, outcome = merge_path(before, op.path, op.deleted, case.revs_limit)
        result.steps.append(Step(outcome, winning_rev(result.tree), disjoint))
    return result


# Where pouchdb-merge 9.0.0 and CouchDB's couch_key_tree (apache/couchdb,
# src/couch/src/couch_key_tree.erl) disagree, revtree follows CouchDB. The differences:
#
# STEM_LINKS. pouchdb-merge's stem() cuts every root-to-leaf path to `depth` on its own and
#   re-merges the pieces with doMerge(..., dontExpand=true), which never joins pieces that start
#   at different generations. A revision kept for one leaf whose child is kept only for another
#   leaf loses the link to that child (the child becomes a root), and a revision can end up in
#   two trees of the forest. couch_key_tree:stem/2 (stem_tree/4) keeps a node when it is within
#   Limit of any leaf and keeps it linked to every kept child; check_key/2 never lets a revision
#   appear twice. revtree keeps the same revisions and links as stem_tree/4. So: both must store
#   exactly the same revisions, and PouchDB may only lack links between two stored revisions.
#   The stored (or duplicated) leaves are the same, so every leaf, winner and conflict still
#   has to match; a leaf PouchDB keeps in two trees is listed twice by collectLeaves() and
#   collectConflicts(), and only such exact repeats are folded.
# DISJOINT. A path sharing no revision with the tree: couch_key_tree:merge_tree([], Tree, Acc)
#   answers new_branch; doMerge() falls through to `conflicts || 'internal_node'`.
# REROOTED. When the path names the parent of a root of a tree in PouchDB's forest, doMerge()
#   merges that stored tree into the path (mergeTree(path, tree)), so the outcome describes what
#   the stored tree adds to the path. couch_key_tree:merge_at/3 with Pos > 0 drops the extra
#   path revisions and merges the path into the tree. With duplicated revisions (STEM_LINKS)
#   the path merges into each copy and the first copy's outcome wins. Both make PouchDB's
#   outcome meaningless for that write; the tree it builds is still compared.


def _compare(ours: Replayed, pouch: Mapping[str, Any]) -> list[str]:
    """Differences between revtree and pouchdb-merge for one case, as readable lines."""
    problems: list[str] = []
    for index, (step, theirs) in enumerate(zip(ours.steps, pouch["steps"], strict=True)):
        if step.winner != theirs["winner"]:
            problems.append(f"write {index}: winner {step.winner} != pouchdb {theirs['winner']}")
        problem = _compare_outcome(step, theirs)
        if problem:
            problems.append(f"write {index}: {problem}")

    tree = ours.tree
    their_leaves = [(rev, deleted) for rev, deleted in pouch["leaves"]]
    their_conflicts = list(pouch["conflicts"])
    if pouch["dupes"]:  # STEM_LINKS: fold exact repeats only
        their_leaves = sorted(set(their_leaves))
        their_conflicts = sorted(set(their_conflicts))
    our_leaves = sorted((rev, tree[rev].deleted) for rev in leaves(tree))
    if our_leaves != their_leaves:
        problems.append(f"leaves {our_leaves} != pouchdb {their_leaves}")
    if winning_rev(tree) != pouch["winner"]:
        problems.append(f"winner {winning_rev(tree)} != pouchdb {pouch['winner']}")
    if sorted(conflicts(tree)) != their_conflicts:
        problems.append(f"conflicts {sorted(conflicts(tree))} != pouchdb {their_conflicts}")
    their_deleted = sorted(
        rev for rev, deleted in their_leaves if deleted and rev != pouch["winner"]
    )
    if sorted(deleted_conflicts(tree)) != their_deleted:
        problems.append(
            f"deleted_conflicts {sorted(deleted_conflicts(tree))} != pouchdb {their_deleted}"
        )
    their_nodes: dict[str, str | None] = pouch["nodes"]
    if set(tree) != set(their_nodes):
        problems.append(
            f"stored revisions only in revtree {sorted(set(tree) - set(their_nodes))}, "
            f"only in pouchdb {sorted(set(their_nodes) - set(tree))}"
        )
    for rev in sorted(set(tree) & set(their_nodes)):
        ours_parent, their_parent = tree[rev].parent, their_nodes[rev]
        if ours_parent == their_parent:
            continue
        if their_parent is None and ours_parent in their_nodes:
            continue  # STEM_LINKS: PouchDB dropped the link between two revisions it kept
        problems.append(f"parent of {rev}: revtree {ours_parent}, pouchdb {their_parent}")
    return problems


def _compare_outcome(step: Step, theirs: Mapping[str, Any]) -> str | None:
    their_outcome = theirs["outcome"]
    if their_outcome == "skipped":  # PouchDB already had the leaf and did not merge
        if step.outcome is not MergeOutcome.INTERNAL_NODE:
            return f"outcome {step.outcome.value}, pouchdb skipped the write"
        return None
    if step.outcome is MergeOutcome.INTERNAL_NODE:
        return f"outcome internal_node, pouchdb merged the write ({their_outcome})"
    if step.disjoint:  # DISJOINT
        if (step.outcome, their_outcome) != (MergeOutcome.NEW_BRANCH, "internal_node"):
            return f"disjoint path: outcome {step.outcome.value}, pouchdb {their_outcome}"
        return None
    if theirs["belowRoot"] or theirs["dupes"]:  # REROOTED
        return None
    if step.outcome.value != their_outcome:
        return f"outcome {step.outcome.value} != pouchdb {their_outcome}"
    return None


def _require_node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "`node` is not on PATH: the revtree differential test needs Node.js to run "
            f"{ORACLE.name} against pouchdb-merge (install Node.js 18+, then `npm ci` "
            f"in {REPO_ROOT})"
        )
    for package in NODE_PACKAGES:
        if not (REPO_ROOT / "node_modules" / package / "package.json").is_file():
            pytest.fail(
                f"node_modules/{package} is missing: run `npm ci` in {REPO_ROOT} "
                "(package.json pins pouchdb-merge 9.0.0)"
            )
    return node


def _run_oracle(
    node: str, cases: Sequence[Case], workdir: Path
) -> tuple[str, list[dict[str, Any]]]:
    """pouchdb-merge's version and its answer for each case, in order."""
    cases_file = workdir / "revtree_cases.json"
    cases_file.write_text(json.dumps({"cases": [case.to_json() for case in cases]}))
    completed = subprocess.run(
        [node, str(ORACLE), str(cases_file)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    if completed.returncode != 0:
        pytest.fail(f"{ORACLE.name} exited with {completed.returncode}:\n{completed.stderr}")
    lines = completed.stdout.splitlines()
    version = str(json.loads(lines[0])["pouchdb_merge"])
    assert len(lines) == len(cases) + 1, f"oracle answered {len(lines) - 1} of {len(cases)} cases"
    return version, [json.loads(line) for line in lines[1:]]


def test_generator_is_reproducible_and_realistic() -> None:
    case = generate_case(BASE_SEED + 7)
    assert case == generate_case(BASE_SEED + 7)
    parents: dict[str, str | None] = {}
    for op in generate_case(BASE_SEED + 8).ops + case.ops:
        for index, rev in enumerate(op.path):
            assert generation(rev) == generation(op.path[0]) - index
            if index + 1 < len(op.path):
                # one rev id never has two parents
                assert parents.setdefault(rev, op.path[index + 1]) == op.path[index + 1]


def test_revtree_matches_pouchdb_merge(tmp_path: Path) -> None:
    node = _require_node()
    started = time.monotonic()
    cases = [generate_case(BASE_SEED + offset) for offset in range(CASES)]
    version, answers = _run_oracle(node, cases, tmp_path)

    failures: list[tuple[Case, list[str]]] = []
    seen = dict.fromkeys(
        ("stemmed", "conflicted", "deleted leaf", "skipped", "below_root", "disjoint", "dupes"), 0
    )
    for case, pouch in zip(cases, answers, strict=True):
        assert pouch["seed"] == case.seed
        ours = replay(case)
        problems = _compare(ours, pouch)
        if problems:
            failures.append((case, problems))
        written = {rev for op in case.ops for rev in op.path}
        seen["stemmed"] += not written <= set(ours.tree)
        seen["conflicted"] += bool(conflicts(ours.tree))
        seen["deleted leaf"] += any(ours.tree[rev].deleted for rev in leaves(ours.tree))
        seen["skipped"] += any(step["outcome"] == "skipped" for step in pouch["steps"])
        seen["below_root"] += any(step["belowRoot"] for step in pouch["steps"])
        seen["disjoint"] += any(step.disjoint for step in ours.steps)
        seen["dupes"] += any(step["dupes"] for step in pouch["steps"]) or bool(pouch["dupes"])

    if failures:
        shown = "\n\n".join(
            case.describe() + "\n" + "\n".join(f"  DIFF {p}" for p in problems)
            for case, problems in failures[:SHOWN_FAILURES]
        )
        seeds = [case.seed for case, _ in failures]
        pytest.fail(
            f"revtree differs from pouchdb-merge {version} in {len(failures)} of {CASES} cases "
            f"(reproduce one with generate_case(seed)); seeds: {seeds[:50]}\n\n{shown}"
        )
    # The generator must keep producing the situations the comparison is about.
    thin = {kind: count for kind, count in seen.items() if count < CASES // 100}
    assert not thin, f"generator covers too few cases of: {thin} (all: {seen})"
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"differential test took {elapsed:.1f}s"
