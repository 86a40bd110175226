"""Reading a changes response, and sequences as opaque values."""

from __future__ import annotations

import pytest

from fieldhall.sync.replicator.changes import encode_since, parse_changes, seq_number
from fieldhall.sync.replicator.errors import PeerProtocolError
from fieldhall.sync.replicator.revs_diff import Missing, parse_revs_diff


def test_parse_all_leaves_and_completion() -> None:
    body = {
        "results": [
            {"seq": "3-g1", "id": "a", "changes": [{"rev": "2-x"}, {"rev": "2-y"}]},
            {"seq": "4-g1", "id": "b", "changes": [{"rev": "3-z"}], "deleted": True},
        ],
        "last_seq": "4-g1",
        "pending": 0,
    }
    batch = parse_changes(body, since="2-g1", limit=2)
    assert [c.revs for c in batch.changes] == [("2-x", "2-y"), ("3-z",)]
    assert batch.changes[1].deleted and batch.last_seq == "4-g1"
    assert not batch.complete  # a full batch may have more behind it, whatever `pending` says
    assert parse_changes(body, since=0, limit=3).complete
    empty = parse_changes({"results": []}, since=7, limit=5)
    assert empty.complete and empty.last_seq == 7


def test_malformed_changes_are_protocol_errors() -> None:
    for bad in ([], {"results": "x"}, {"results": [{"seq": 1}]}):
        with pytest.raises(PeerProtocolError):
            parse_changes(bad, since=0, limit=1)


def test_sequences() -> None:
    assert encode_since("12-g1AAA") == "12-g1AAA"
    assert encode_since(12) == "12" and encode_since([3, "x"]) == '[3,"x"]'
    assert seq_number("12-g1AAA") == 12 and seq_number(7) == 7 and seq_number([4, "x"]) == 4
    assert seq_number("now") is None and seq_number(None) is None


def test_revs_diff_keeps_feed_order_and_ancestors() -> None:
    from fieldhall.sync.replicator.changes import Change

    changes = [Change("b", 1, ("2-b",)), Change("a", 2, ("1-a", "1-c")), Change("c", 3, ("1-c",))]
    answer = {"a": {"missing": ["1-c"], "possible_ancestors": ["1-a"]}, "b": {"missing": ["2-b"]}}
    assert parse_revs_diff(changes, answer) == (
        Missing("b", ("2-b",)),
        Missing("a", ("1-c",), ("1-a",)),
    )
