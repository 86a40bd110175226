"""Unit tests of :mod:`fieldhall.sync.revtree` (CouchDB revision trees).

Expected values follow CouchDB 3 (``couch_key_tree``, ``couch_doc``); the differential test next
to this file checks the same functions against PouchDB's ``pouchdb-merge`` on random trees.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

import pytest

from fieldhall.sync import revtree
from fieldhall.sync.revtree import (
    DEFAULT_REVS_LIMIT,
    InvalidRev,
    MergeOutcome,
    RevNode,
    RevTree,
    ancestry,
    conflicts,
    deleted_conflicts,
    format_rev,
    from_paths,
    generation,
    is_leaf,
    leaves,
    merge_path,
    parse_rev,
    path_from_revisions,
    revisions_of,
    stem,
    winning_rev,
)


def history(count: int, branch: str = "a", first: int = 1) -> list[str]:
    """A linear path of ``count`` revisions, newest first, from generation ``first``."""
    return [f"{gen}-{branch}{gen}" for gen in range(first + count - 1, first - 1, -1)]


def tree_of(*paths: Sequence[str], deleted: Sequence[str] = (), limit: int = 1000) -> RevTree:
    """Merge paths (newest first); the leaves named in ``deleted`` are tombstones."""
    return from_paths(((path, path[0] in deleted) for path in paths), limit)


def md5_rev(gen: int, parent: str | None) -> str:
    return f"{gen}-{hashlib.md5(str(parent).encode()).hexdigest()}"


# -- the public face ------------------------------------------------------------------------------


def test_public_names() -> None:
    assert set(revtree.__all__) == {
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
    }
    assert DEFAULT_REVS_LIMIT == 1000
    assert issubclass(InvalidRev, ValueError)
    # spelled as pouchdb-merge's merge() reports them and couch_key_tree:merge/2 returns them
    assert {outcome.value for outcome in MergeOutcome} == {
        "new_leaf",
        "new_branch",
        "internal_node",
    }


# -- parse_rev, format_rev, generation ------------------------------------------------------------


@pytest.mark.parametrize(
    ("rev", "parsed"),
    [
        ("1-abc", (1, "abc")),
        ("1-967a00dff5e02add41819138abb3284d", (1, "967a00dff5e02add41819138abb3284d")),
        ("1000-x", (1000, "x")),
        ("999999999999-x", (999_999_999_999, "x")),
        ("3-a-b", (3, "a-b")),  # the hash is everything after the first dash
        ("2-A_b.c", (2, "A_b.c")),
    ],
)
def test_parse_rev(rev: str, parsed: tuple[int, str]) -> None:
    assert parse_rev(rev) == parsed
    assert format_rev(*parsed) == rev
    assert generation(rev) == parsed[0]


@pytest.mark.parametrize(
    "rev",
    [
        None,
        1,
        b"1-abc",
        ["1-abc"],
        "",
        "abc",
        "1abc",
        "-abc",
        "1-",
        "0-abc",
        "x-abc",
        "1.5-abc",
        "+1-abc",
        " 1-abc",
        "1 -abc",
        "1-ab c",
        "1-abc\n",  # `$` would have let the newline through
        "1-abc/def",
        "1-" + "a" * 129,
        "1234567890123-abc",  # more than 12 digits
        "\u0661-abc",  # ARABIC-INDIC DIGIT ONE: str.isdigit() but not a CouchDB generation
        "\u00b2-abc",  # SUPERSCRIPT TWO: str.isdigit() yet int() refuses it
    ],
)
def test_parse_rev_rejects(rev: object) -> None:
    with pytest.raises(InvalidRev, match="invalid rev format"):
        parse_rev(rev)


# -- path_from_revisions --------------------------------------------------------------------------


def test_path_from_revisions() -> None:
    revisions = {"start": 3, "ids": ["c", "b", "a"]}
    assert path_from_revisions(revisions, "3-c") == ["3-c", "2-b", "1-a"]


def test_path_from_revisions_of_a_stemmed_history() -> None:
    revisions = {"start": 1205, "ids": ["z", "y"]}
    assert path_from_revisions(revisions, "1205-z") == ["1205-z", "1204-y"]


@pytest.mark.parametrize(
    ("revisions", "rev", "message"),
    [
        (None, "1-a", "must be an object"),
        ([3, ["c"]], "3-c", "must be an object"),
        ({"ids": ["a"]}, "1-a", "integer start"),
        ({"start": "1", "ids": ["a"]}, "1-a", "integer start"),
        ({"start": 1.0, "ids": ["a"]}, "1-a", "integer start"),
        ({"start": True, "ids": ["a"]}, "1-a", "integer start"),  # bool is an int in Python
        ({"start": 1}, "1-a", "list of ids"),
        ({"start": 1, "ids": "a"}, "1-a", "list of ids"),
        ({"start": 1, "ids": []}, "1-a", "smaller than the number of ids"),
        ({"start": 2, "ids": ["c", "b", "a"]}, "2-c", "smaller than the number of ids"),
        ({"start": 0, "ids": ["a"]}, "0-a", "smaller than the number of ids"),
        ({"start": 2, "ids": ["b", 1]}, "2-b", "ids must be strings"),
        ({"start": 2, "ids": ["b", None]}, "2-b", "ids must be strings"),
        ({"start": 2, "ids": ["b", "a a"]}, "2-b", "invalid rev format"),
        ({"start": 2, "ids": ["b", ""]}, "2-b", "invalid rev format"),
        ({"start": 2, "ids": ["b", "a"]}, "2-x", "does not match"),
        ({"start": 2, "ids": ["b", "a"]}, "3-b", "does not match"),
        ({"start": 10**12, "ids": ["a"]}, "1000000000000-a", "invalid rev format"),
    ],
)
def test_path_from_revisions_rejects(revisions: object, rev: str, message: str) -> None:
    with pytest.raises(InvalidRev, match=message):
        path_from_revisions(revisions, rev)


# -- leaves and the winner ------------------------------------------------------------------------


def test_a_single_revision() -> None:
    tree = tree_of(["1-a"])
    assert leaves(tree) == ["1-a"]
    assert winning_rev(tree) == "1-a"
    assert conflicts(tree) == []
    assert deleted_conflicts(tree) == []
    assert is_leaf(tree, "1-a")


def test_empty_tree() -> None:
    assert leaves({}) == []
    assert not is_leaf({}, "1-a")
    with pytest.raises(ValueError, match="empty"):
        winning_rev({})


def test_non_deleted_leaf_beats_deleted_leaf_of_higher_generation() -> None:
    tree = tree_of(["2-b", "1-a"], ["4-z", "3-z", "2-y", "1-a"], deleted=["4-z"])
    assert winning_rev(tree) == "2-b"
    assert conflicts(tree) == []
    assert deleted_conflicts(tree) == ["4-z"]


def test_higher_generation_wins() -> None:
    tree = tree_of(["2-z", "1-a"], ["3-b", "2-b", "1-a"])
    assert winning_rev(tree) == "3-b"
    assert conflicts(tree) == ["2-z"]


def test_generation_compares_as_a_number_not_a_string() -> None:
    tree = tree_of(history(9, "z"), history(10, "a")[:2] + history(9, "z")[1:])
    assert winning_rev(tree) == "10-a10"  # "10-…" < "9-…" as strings


def test_same_generation_higher_hash_wins() -> None:
    tree = tree_of(["2-a", "1-r"], ["2-b", "1-r"], ["2-9", "1-r"])
    assert winning_rev(tree) == "2-b"  # "b" > "a" > "9" (string comparison)
    assert sorted(conflicts(tree)) == ["2-9", "2-a"]
    assert leaves(tree) == ["2-b", "2-a", "2-9"]  # best first


def test_all_leaves_deleted() -> None:
    tree = tree_of(["2-a", "1-r"], ["3-b", "2-b", "1-r"], deleted=["2-a", "3-b"])
    assert winning_rev(tree) == "3-b"
    assert tree[winning_rev(tree)].deleted
    assert conflicts(tree) == []
    assert deleted_conflicts(tree) == ["2-a"]


def test_conflicts_and_deleted_conflicts() -> None:
    tree = tree_of(
        ["3-c", "2-c", "1-r"],
        ["3-d", "2-d", "1-r"],
        ["2-e", "1-r"],
        ["4-f", "3-f", "2-f", "1-r"],
        ["2-g", "1-r"],
        deleted=["4-f", "2-g"],
    )
    assert winning_rev(tree) == "3-d"
    assert conflicts(tree) == ["3-c", "2-e"]
    assert deleted_conflicts(tree) == ["4-f", "2-g"]
    assert leaves(tree) == ["3-d", "3-c", "2-e", "4-f", "2-g"]


def test_a_tombstone_that_was_edited_again_is_not_a_leaf() -> None:
    tree = tree_of(["2-x", "1-r"], ["3-y", "2-x", "1-r"], deleted=["2-x"])
    assert tree["2-x"].deleted
    assert leaves(tree) == ["3-y"]
    assert winning_rev(tree) == "3-y"
    assert deleted_conflicts(tree) == []


def test_is_leaf() -> None:
    tree = tree_of(["3-c", "2-b", "1-a"], ["2-x", "1-a"])
    assert is_leaf(tree, "3-c")
    assert is_leaf(tree, "2-x")
    assert not is_leaf(tree, "2-b")
    assert not is_leaf(tree, "1-a")
    assert not is_leaf(tree, "9-unknown")


# -- ancestry and _revisions ----------------------------------------------------------------------


def test_ancestry_and_revisions_of() -> None:
    tree = tree_of(["3-c", "2-b", "1-a"], ["2-x", "1-a"])
    assert ancestry(tree, "3-c") == ["3-c", "2-b", "1-a"]
    assert ancestry(tree, "2-x") == ["2-x", "1-a"]
    assert ancestry(tree, "9-unknown") == []
    assert revisions_of(tree, "3-c") == {"start": 3, "ids": ["c", "b", "a"]}
    assert path_from_revisions(revisions_of(tree, "3-c"), "3-c") == ancestry(tree, "3-c")


def test_ancestry_of_a_stemmed_tree_stops_at_its_root() -> None:
    tree = tree_of(history(10), limit=3)
    assert ancestry(tree, "10-a10") == ["10-a10", "9-a9", "8-a8"]
    assert revisions_of(tree, "10-a10") == {"start": 10, "ids": ["a10", "a9", "a8"]}


# -- merge_path -----------------------------------------------------------------------------------


def test_first_path_makes_the_tree() -> None:
    tree, outcome = merge_path({}, ["3-c", "2-b", "1-a"], deleted=True)
    assert outcome is MergeOutcome.NEW_LEAF
    assert tree == {
        "1-a": RevNode(None),
        "2-b": RevNode("1-a"),
        "3-c": RevNode("2-b", deleted=True),  # only the leaf carries the flag
    }


def test_update_of_the_leaf_is_a_new_leaf() -> None:
    tree, outcome = merge_path(tree_of(["1-a"]), ["2-b", "1-a"], deleted=False)
    assert outcome is MergeOutcome.NEW_LEAF
    assert leaves(tree) == ["2-b"]


def test_several_edits_replicated_at_once_are_a_new_leaf() -> None:
    # couch_key_tree:merge_extend([], Path) -> new_leaf however long the path is below the leaf.
    before = tree_of(["2-b", "1-a"])
    tree, outcome = merge_path(before, ["5-e", "4-d", "3-c", "2-b", "1-a"], deleted=False)
    assert outcome is MergeOutcome.NEW_LEAF
    assert leaves(tree) == ["5-e"]
    # also when the sender's path is stemmed and starts at the leaf
    tree, outcome = merge_path(before, ["4-d", "3-c", "2-b"], deleted=False)
    assert outcome is MergeOutcome.NEW_LEAF


def test_update_of_a_tombstone_is_a_new_leaf() -> None:
    before = tree_of(["2-b", "1-a"], deleted=["2-b"])
    tree, outcome = merge_path(before, ["3-c", "2-b"], deleted=False)
    assert outcome is MergeOutcome.NEW_LEAF
    assert winning_rev(tree) == "3-c"
    assert tree["2-b"].deleted  # a known revision keeps its own flag


def test_edit_of_an_old_revision_is_a_new_branch() -> None:
    before = tree_of(["3-c", "2-b", "1-a"])
    tree, outcome = merge_path(before, ["3-x", "2-x", "1-a"], deleted=False)
    assert outcome is MergeOutcome.NEW_BRANCH
    assert winning_rev(tree) == "3-x"
    assert conflicts(tree) == ["3-c"]
    tree, outcome = merge_path(tree, ["3-y", "2-b"], deleted=True)
    assert outcome is MergeOutcome.NEW_BRANCH
    assert deleted_conflicts(tree) == ["3-y"]


def test_unrelated_path_is_a_new_branch() -> None:
    # Two replicas created the document independently: a forest with two roots. CouchDB's
    # merge_tree([], Tree, Acc) says new_branch (pouchdb-merge says internal_node).
    before = tree_of(["2-b", "1-a"])
    tree, outcome = merge_path(before, ["1-z"], deleted=False)
    assert outcome is MergeOutcome.NEW_BRANCH
    assert tree["1-z"] == RevNode(None)
    assert winning_rev(tree) == "2-b"
    assert conflicts(tree) == ["1-z"]


def test_known_leaf_is_an_internal_node_and_changes_nothing() -> None:
    before = tree_of(["3-c", "2-b", "1-a"], ["2-x", "1-a"])
    for path in (["3-c", "2-b", "1-a"], ["3-c"], ["2-x", "1-a"], ["2-b", "1-a"], ["1-a"]):
        tree, outcome = merge_path(before, path, deleted=True)
        assert outcome is MergeOutcome.INTERNAL_NODE
        assert tree == before
        assert tree is not before


def test_merge_path_is_pure() -> None:
    before = tree_of(["2-b", "1-a"])
    snapshot = dict(before)
    merge_path(before, ["3-c", "2-b", "1-a"], deleted=False, revs_limit=1)
    merge_path(before, ["2-x", "1-a"], deleted=True)
    assert before == snapshot


def test_empty_path_is_refused() -> None:
    with pytest.raises(ValueError, match="empty path"):
        merge_path({}, [], deleted=False)


def test_from_paths_leaves_do_not_depend_on_the_order() -> None:
    paths = [
        (["4-d", "3-c", "2-b", "1-a"], False),
        (["3-x", "2-x", "1-a"], True),
        (["2-y", "1-a"], False),
        (["5-e", "4-d", "3-c"], False),
    ]
    forward = from_paths(paths, 1000)
    backward = from_paths(reversed(paths), 1000)
    for tree in (forward, backward):
        assert leaves(tree) == ["5-e", "2-y", "3-x"]
        assert winning_rev(tree) == "5-e"
        assert conflicts(tree) == ["2-y"]
        assert deleted_conflicts(tree) == ["3-x"]
    assert forward["3-c"].parent == "2-b"
    # Backwards, 4-d is already known when its longer history arrives: the write is ignored
    # (INTERNAL_NODE), as CouchDB and PouchDB ignore it, so 3-c stays a root.
    assert backward["3-c"].parent is None
    assert set(forward) - set(backward) == {"2-b"}


# -- stemming -------------------------------------------------------------------------------------


def test_stem_a_linear_history() -> None:
    tree = stem(tree_of(history(10)), 3)
    assert tree == {"10-a10": RevNode("9-a9"), "9-a9": RevNode("8-a8"), "8-a8": RevNode(None)}


def test_stem_to_one_keeps_only_the_leaves() -> None:
    tree = stem(tree_of(history(5), ["3-x", "2-a2", "1-a1"], deleted=["3-x"]), 1)
    assert tree == {"5-a5": RevNode(None), "3-x": RevNode(None, deleted=True)}
    assert winning_rev(tree) == "5-a5"
    assert deleted_conflicts(tree) == ["3-x"]


def test_stem_keeps_every_revision_within_the_limit_of_some_leaf() -> None:
    # 1 - 2 - 3 - 4 - 5 - 6 - 7
    #          \- 4x
    # With limit 4, leaf 7 keeps 4..7 and leaf 4x keeps 1, 2, 3, 4x. 4 stays linked to 3:
    # couch_key_tree:stem_tree/4 keeps a node with all of its kept children. (pouchdb-merge
    # stems each root-to-leaf path alone and loses that link.)
    tree = stem(tree_of(history(7), ["4-x", "3-a3", "2-a2", "1-a1"]), 4)
    assert set(tree) == {"1-a1", "2-a2", "3-a3", "4-a4", "5-a5", "6-a6", "7-a7", "4-x"}
    assert tree["4-a4"].parent == "3-a3"
    tree = stem(tree, 3)
    assert set(tree) == {"2-a2", "3-a3", "4-x", "5-a5", "6-a6", "7-a7"}
    assert tree["2-a2"].parent is None
    assert tree["5-a5"].parent is None


def test_stem_within_the_limit_changes_nothing() -> None:
    before = tree_of(history(5), ["3-x", "2-a2", "1-a1"])
    assert stem(before, 5) == before
    assert stem(before, DEFAULT_REVS_LIMIT) == before
    assert stem(before, 5) is not before


def test_stem_is_pure() -> None:
    before = tree_of(history(6))
    snapshot = dict(before)
    stem(before, 2)
    assert before == snapshot


@pytest.mark.parametrize("limit", [0, -1])
def test_stem_refuses_a_limit_below_one(limit: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        stem(tree_of(["1-a"]), limit)
    with pytest.raises(ValueError, match="at least 1"):
        merge_path({}, ["1-a"], deleted=False, revs_limit=limit)


def test_merge_stems_to_revs_limit() -> None:
    tree, outcome = merge_path({}, history(10), deleted=False, revs_limit=4)
    assert outcome is MergeOutcome.NEW_LEAF
    assert sorted(tree, key=generation) == ["7-a7", "8-a8", "9-a9", "10-a10"]
    tree, outcome = merge_path(tree, history(11), deleted=False, revs_limit=4)
    assert outcome is MergeOutcome.NEW_LEAF
    assert sorted(tree, key=generation) == ["8-a8", "9-a9", "10-a10", "11-a11"]
    assert tree["8-a8"].parent is None


def test_merge_with_revs_limit_one() -> None:
    tree: dict[str, RevNode] = {}
    for gen in range(1, 6):
        tree, outcome = merge_path(tree, history(gen), deleted=False, revs_limit=1)
        assert outcome is MergeOutcome.NEW_LEAF
        assert tree == {f"{gen}-a{gen}": RevNode(None)}
    tree, outcome = merge_path(tree, ["6-b", "5-a5"], deleted=True, revs_limit=1)
    assert outcome is MergeOutcome.NEW_LEAF
    assert tree == {"6-b": RevNode(None, deleted=True)}
    # A conflicting edit of an ancestor we no longer know: a second tree, as in CouchDB.
    tree, outcome = merge_path(tree, ["4-x", "3-a3"], deleted=False, revs_limit=1)
    assert outcome is MergeOutcome.NEW_BRANCH
    assert tree == {"6-b": RevNode(None, deleted=True), "4-x": RevNode(None)}
    assert winning_rev(tree) == "4-x"


# -- stemmed trees meet unstemmed paths -----------------------------------------------------------


def test_unstemmed_path_extending_a_stemmed_tree() -> None:
    stemmed = tree_of(history(10), limit=3)  # 8 - 9 - 10
    tree, outcome = merge_path(stemmed, history(12), deleted=False, revs_limit=3)
    assert outcome is MergeOutcome.NEW_LEAF
    assert tree == {
        "12-a12": RevNode("11-a11"),
        "11-a11": RevNode("10-a10"),
        "10-a10": RevNode(None),
    }


def test_unstemmed_path_relinks_the_stemmed_root() -> None:
    # The other replica keeps more history (or our limit was raised): the path names the
    # parent of our stemmed root, which is linked to it again (couch_key_tree:merge_at/3 with
    # Pos > 0 keeps the extra revisions of the path above our tree).
    stemmed = tree_of(history(10), limit=3)  # 8 - 9 - 10
    branch = ["9-x", *history(8)]  # an edit of 8, sent with its whole history
    tree, outcome = merge_path(stemmed, branch, deleted=False, revs_limit=5)
    assert outcome is MergeOutcome.NEW_BRANCH
    assert tree["8-a8"].parent == "7-a7"
    assert set(tree) == {"5-a5", "6-a6", "7-a7", "8-a8", "9-a9", "10-a10", "9-x"}
    assert tree["5-a5"].parent is None
    assert winning_rev(tree) == "10-a10"
    assert conflicts(tree) == ["9-x"]
    # a path that reaches below the stemmed root and extends a leaf is still a new leaf
    tree, outcome = merge_path(stemmed, history(11), deleted=False, revs_limit=20)
    assert outcome is MergeOutcome.NEW_LEAF
    assert ancestry(tree, "11-a11") == history(11)


def test_known_leaf_sent_with_longer_history_changes_nothing() -> None:
    # CouchDB (couch_db:prep_and_validate_replicated_updates) and PouchDB (updateDoc) ignore a
    # replicated revision they already have, so a stemmed tree does not grow back.
    stemmed = tree_of(history(10), limit=3)
    tree, outcome = merge_path(stemmed, history(10), deleted=False, revs_limit=1000)
    assert outcome is MergeOutcome.INTERNAL_NODE
    assert tree == stemmed


def test_branch_from_an_ancestor_we_stemmed_away() -> None:
    stemmed = tree_of(history(10), limit=3)  # 8 - 9 - 10
    tree, outcome = merge_path(stemmed, ["5-x", *history(4)], deleted=False, revs_limit=3)
    assert outcome is MergeOutcome.NEW_BRANCH
    assert tree == {
        "8-a8": RevNode(None),
        "9-a9": RevNode("8-a8"),
        "10-a10": RevNode("9-a9"),
        "3-a3": RevNode(None),
        "4-a4": RevNode("3-a3"),
        "5-x": RevNode("4-a4"),
    }
    assert winning_rev(tree) == "10-a10"
    assert conflicts(tree) == ["5-x"]


def test_stemmed_and_unstemmed_replicas_agree_on_leaves() -> None:
    paths = [
        (history(30), False),
        (["12-x", "11-x", *history(10)], False),
        (["21-d", *history(20)], True),
        (["25-y", *history(24)], False),
    ]
    full = from_paths(paths, 1000)
    for limit in (1, 2, 5, 20):
        stemmed = from_paths(paths, limit)
        assert set(leaves(stemmed)) == set(leaves(full))
        assert winning_rev(stemmed) == winning_rev(full) == "30-a30"
        assert conflicts(stemmed) == conflicts(full) == ["25-y", "12-x"]
        assert deleted_conflicts(stemmed) == deleted_conflicts(full) == ["21-d"]


# -- deep histories -------------------------------------------------------------------------------


def _deep_history(edits: int) -> list[str]:
    """A realistic ``edits``-long path, newest first: each hash is md5 of the parent rev."""
    path: list[str] = []
    parent: str | None = None
    for gen in range(1, edits + 1):
        parent = md5_rev(gen, parent)
        path.append(parent)
    path.reverse()
    return path


@contextmanager
def shallow_stack(spare_frames: int = 50) -> Iterator[None]:
    """Fail with RecursionError if the code inside goes ``spare_frames`` calls deeper than here."""
    depth = 0
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + spare_frames)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


@pytest.mark.parametrize("limit", [DEFAULT_REVS_LIMIT, 10_000])
def test_5000_edits_without_recursion(limit: int) -> None:
    with shallow_stack():
        _check_5000_edits(limit)


def _check_5000_edits(limit: int) -> None:
    edits = 5000
    started = time.perf_counter()
    path = _deep_history(edits)
    ids = [rev.partition("-")[2] for rev in path]
    assert path_from_revisions({"start": edits, "ids": ids}, path[0]) == path
    kept = min(edits, limit)

    tree, outcome = merge_path({}, path, deleted=False, revs_limit=limit)
    assert outcome is MergeOutcome.NEW_LEAF
    assert len(tree) == kept
    assert winning_rev(tree) == path[0]
    assert leaves(tree) == [path[0]]
    assert conflicts(tree) == deleted_conflicts(tree) == []
    assert ancestry(tree, path[0]) == path[:kept]
    assert revisions_of(tree, path[0]) == {"start": edits, "ids": ids[:kept]}

    # one more edit, sent with its whole (unstemmed) history, and a deep conflicting branch
    newer = md5_rev(edits + 1, path[0])
    tree, outcome = merge_path(tree, [newer, *path], deleted=False, revs_limit=limit)
    assert outcome is MergeOutcome.NEW_LEAF
    branch = [md5_rev(2501, "other replica"), *path[edits - 2500 :]]  # an edit of 2500
    # Kept, generation 2500 is an internal node; stemmed away, the branch is a tree of its own.
    assert (branch[1] in tree) is (limit > edits)
    tree, outcome = merge_path(tree, branch, deleted=True, revs_limit=limit)
    assert outcome is MergeOutcome.NEW_BRANCH
    assert winning_rev(tree) == newer
    assert deleted_conflicts(tree) == [branch[0]]
    assert all(len(ancestry(tree, leaf)) <= limit for leaf in leaves(tree))
    assert len(stem(tree, 1)) == 2
    assert is_leaf(tree, newer)
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"5,000-edit history took {elapsed:.2f}s"
