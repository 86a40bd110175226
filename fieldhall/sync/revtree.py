"""Revision trees with CouchDB's semantics (after CouchDB's ``couch_key_tree`` and PouchDB's
``pouchdb-merge``).

Data model: a document's history is a forest of revisions. Each revision id is ``"N-hash"``
where ``N`` is its generation (depth from the original root, which survives stemming). We
keep the forest *flat*: a mapping ``rev -> RevNode(parent, deleted)`` where ``parent`` is the
rev one generation older, or ``None`` for a root (the first edit, or the oldest rev kept after
stemming). A flat map makes every walk a loop — histories are 1,000 revisions deep by default
and Python's recursion limit is 1,000 as well — and makes merging a path a dictionary update.

Leaves are revisions that are nobody's parent. The winning revision is chosen among leaves by
(not deleted, generation, hash) — the same on every replica without coordination.

Everything here is pure: functions take a tree and return a new one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "DEFAULT_REVS_LIMIT",
    "InvalidRev",
    "MergeOutcome",
    "RevNode",
    "RevTree",
    "ancestry",
    "conflicts",
    "deleted_conflicts",
    "format_rev",
    "from_paths",
    "generation",
    "is_leaf",
    "leaves",
    "merge_path",
    "parse_rev",
    "path_from_revisions",
    "revisions_of",
    "stem",
    "winning_rev",
]

DEFAULT_REVS_LIMIT = 1000  # CouchDB's default `_revs_limit`

# ASCII digits only (``str.isdigit`` also accepts "²" and "١"), matched with ``fullmatch``
# (``$`` would let a trailing newline through).
_REV_HASH = re.compile(r"[0-9A-Za-z_\-.]{1,128}")
# The generation ends at the first "-" (the hash may contain more).
_REV = re.compile(r"([0-9]{1,12})-[0-9A-Za-z_\-.]{1,128}")
_MAX_GENERATION = 10**12 - 1  # 12 digits


class InvalidRev(ValueError):
    """Raised when a revision id is not of the form ``N-hash`` with ``N >= 1``."""


@dataclass(frozen=True, slots=True)
class RevNode:
    parent: str | None
    deleted: bool = False


RevTree = Mapping[str, RevNode]


class MergeOutcome(Enum):
    """What merging a path did to the tree (as ``pouchdb-merge`` reports it)."""

    NEW_LEAF = "new_leaf"  # extended an existing leaf: a plain update
    NEW_BRANCH = "new_branch"  # created a conflict (or a new, disjoint tree)
    INTERNAL_NODE = "internal_node"  # nothing new: the path was already known


def parse_rev(rev: object) -> tuple[int, str]:
    """Split ``"N-hash"`` into ``(N, hash)``."""
    if not isinstance(rev, str) or (found := _REV.fullmatch(rev)) is None:
        raise InvalidRev(f"invalid rev format: {rev!r}")
    pos = found.group(1)
    gen = int(pos)
    if gen < 1:
        raise InvalidRev(f"invalid rev format: {rev!r}")
    return gen, rev[len(pos) + 1 :]


def format_rev(gen: int, rev_hash: str) -> str:
    return f"{gen}-{rev_hash}"


def generation(rev: str) -> int:
    return int(rev.partition("-")[0])


def path_from_revisions(revisions: object, rev: str) -> list[str]:
    """The path newest-first from a ``_revisions`` object (``{"start", "ids"}``).

    Raises :class:`InvalidRev` when ``_revisions`` is malformed or does not end in ``rev``.
    """
    if not isinstance(revisions, Mapping):
        raise InvalidRev("_revisions must be an object")
    start, ids = revisions.get("start"), revisions.get("ids")
    if isinstance(start, bool) or not isinstance(start, int) or not isinstance(ids, list):
        raise InvalidRev("_revisions must have an integer start and a list of ids")
    if not ids or start < len(ids):
        raise InvalidRev("_revisions start is smaller than the number of ids")
    path = []
    for offset, rev_hash in enumerate(ids):
        if not isinstance(rev_hash, str):
            raise InvalidRev("_revisions ids must be strings")
        candidate = f"{start - offset}-{rev_hash}"
        # As parse_rev(candidate), whose generation is known to be an integer >= 1.
        if start - offset > _MAX_GENERATION or not _REV_HASH.fullmatch(rev_hash):
            raise InvalidRev(f"invalid rev format: {candidate!r}")
        path.append(candidate)
    if path[0] != rev:
        raise InvalidRev(f"_rev {rev} does not match _revisions (leaf {path[0]})")
    return path


def leaves(tree: RevTree) -> list[str]:
    """Leaf revisions, sorted best first (the winner is ``leaves(tree)[0]``)."""
    if len(tree) == 1:  # most documents: one revision
        return list(tree)
    parents = {node.parent for node in tree.values()}
    found = [rev for rev in tree if rev not in parents]
    if len(found) > 1:
        found.sort(key=lambda rev: _rank(rev, tree[rev].deleted), reverse=True)
    return found


def is_leaf(tree: RevTree, rev: str) -> bool:
    return rev in tree and all(node.parent != rev for node in tree.values())


def _rank(rev: str, deleted: bool) -> tuple[bool, int, str]:
    gen, rev_hash = rev.partition("-")[::2]
    return (not deleted, int(gen), rev_hash)


def winning_rev(tree: RevTree) -> str:
    """Non-deleted leaves beat deleted ones, then the higher generation, then the higher hash."""
    if not tree:
        raise ValueError("empty revision tree")
    return leaves(tree)[0]


def conflicts(tree: RevTree) -> list[str]:
    """Non-deleted leaves other than the winner (CouchDB's ``_conflicts``)."""
    winner = winning_rev(tree)
    return [rev for rev in leaves(tree) if rev != winner and not tree[rev].deleted]


def deleted_conflicts(tree: RevTree) -> list[str]:
    """Deleted leaves other than the winner (CouchDB's ``_deleted_conflicts``)."""
    winner = winning_rev(tree)
    return [rev for rev in leaves(tree) if rev != winner and tree[rev].deleted]


def ancestry(tree: RevTree, rev: str) -> list[str]:
    """``rev`` followed by its ancestors, newest first, as far as the tree still knows them."""
    path = []
    current: str | None = rev
    while current is not None and current in tree:
        path.append(current)
        current = tree[current].parent
    return path


def revisions_of(tree: RevTree, rev: str) -> dict[str, object]:
    """The ``_revisions`` object CouchDB returns for ``rev``."""
    path = ancestry(tree, rev)
    return {"start": generation(rev), "ids": [r.partition("-")[2] for r in path]}


def merge_path(
    tree: RevTree,
    path: Sequence[str],
    deleted: bool,
    revs_limit: int = DEFAULT_REVS_LIMIT,
) -> tuple[dict[str, RevNode], MergeOutcome]:
    """Merge a path (leaf first, then its ancestors, consecutive generations) into ``tree``.

    The leaf gets the ``deleted`` flag; an already known revision keeps its own. A stemmed
    root whose parent the path names is linked to it again. The result is stemmed to
    ``revs_limit``.

    The outcome follows ``couch_key_tree:merge/2``: ``NEW_LEAF`` when the path grows the tree
    from one of its leaves (however many revisions it adds) or starts an empty tree,
    ``NEW_BRANCH`` when it grows from an internal revision or shares no revision with the tree,
    ``INTERNAL_NODE`` when its leaf is already known (CouchDB and PouchDB then ignore the path).
    """
    if not path:
        raise ValueError("empty path")
    if path[0] in tree:
        return dict(tree), MergeOutcome.INTERNAL_NODE

    merged = dict(tree)
    grown_from: str | None = None  # the newest revision of the path the tree already knew
    for index, rev in enumerate(path):
        parent = path[index + 1] if index + 1 < len(path) else None
        existing = merged.get(rev)
        if existing is None:
            merged[rev] = RevNode(parent, deleted if index == 0 else False)
            continue
        if grown_from is None:
            grown_from = rev
        if existing.parent is None and parent is not None:
            merged[rev] = RevNode(parent, existing.deleted)

    if not tree or (grown_from is not None and is_leaf(tree, grown_from)):
        outcome = MergeOutcome.NEW_LEAF
    else:  # grown from an internal revision, or disjoint (a new tree in the forest)
        outcome = MergeOutcome.NEW_BRANCH
    return stem(merged, revs_limit), outcome


def stem(tree: RevTree, revs_limit: int) -> dict[str, RevNode]:
    """Keep only the ``revs_limit`` newest revisions on the path to each leaf.

    As ``couch_key_tree:stem/2`` does: a revision within ``revs_limit`` of any leaf stays, linked
    to its parent if that stays too.
    """
    if revs_limit < 1:
        raise ValueError("revs_limit must be at least 1")
    if len(tree) <= revs_limit:  # no path to a leaf can be longer than the whole tree
        return dict(tree)
    keep: set[str] = set()
    for leaf in leaves(tree):
        current: str | None = leaf
        depth = 0
        while current is not None and current in tree and depth < revs_limit:
            keep.add(current)
            current = tree[current].parent
            depth += 1
    if len(keep) == len(tree):
        return dict(tree)
    stemmed: dict[str, RevNode] = {}
    for rev in keep:
        node = tree[rev]
        parent = node.parent if node.parent in keep else None
        stemmed[rev] = RevNode(parent, node.deleted)
    return stemmed


def from_paths(paths: Iterable[tuple[Sequence[str], bool]], revs_limit: int) -> dict[str, RevNode]:
    """Build a tree by merging ``(path, deleted)`` pairs in order (used by tests and tools)."""
    tree: dict[str, RevNode] = {}
    for path, deleted in paths:
        tree, _ = merge_path(tree, path, deleted, revs_limit)
    return tree
