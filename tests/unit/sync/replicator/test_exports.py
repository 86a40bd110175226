"""The replicator's public face is small and deliberate."""

from __future__ import annotations

import fieldhall.sync.replicator as replicator


def test_exported_names() -> None:
    assert sorted(replicator.__all__) == [
        "DatabaseNotFound",
        "Endpoint",
        "JobRegistry",
        "PeerProtocolError",
        "PeerUnauthorized",
        "PeerUnreachable",
        "Progress",
        "Replication",
        "ReplicationError",
        "ReplicationJob",
        "RetryPolicy",
        "State",
        "Stats",
        "TransientError",
        "replicate",
    ]
    for name in replicator.__all__:
        assert getattr(replicator, name).__module__.startswith("fieldhall.sync.replicator.")


def test_errors_are_one_line_and_share_a_base() -> None:
    error = replicator.PeerUnauthorized("bad\n  credentials\tfor x", url="http://h/db")
    assert str(error) == "bad credentials for x" and error.url == "http://h/db"
    for cls in (
        replicator.PeerUnreachable,
        replicator.PeerUnauthorized,
        replicator.DatabaseNotFound,
        replicator.PeerProtocolError,
        replicator.TransientError,
    ):
        assert issubclass(cls, replicator.ReplicationError)


def test_replication_validation_and_defaults() -> None:
    import pytest

    rep = replicator.Replication.between("http://h/a", "http://h/b", doc_ids=["x"])
    assert rep.doc_ids == ("x",) and rep.retry_policy.max_attempts == 10
    live = replicator.Replication.between("http://h/a", "http://h/b", continuous=True)
    assert live.retry_policy.max_attempts is None
    for bad in (
        {"doc_ids": ["x"], "selector": {}},
        {"doc_ids": [""]},
        {"batch_size": 0},
        {"selector": [1]},
    ):
        with pytest.raises(ValueError):
            replicator.Replication.between("http://h/a", "http://h/b", **bad)  # type: ignore[arg-type]
