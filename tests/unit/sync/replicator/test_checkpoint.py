"""Where a replication resumes, after CouchDB's ``compare_replication_logs``."""

from __future__ import annotations

from typing import Any

from fieldhall.sync.replicator.checkpoint import (
    CHECKPOINT_HISTORY_SIZE,
    LOWEST_SEQ,
    ReplicationLog,
    StartPoint,
    compare_histories,
    compare_logs,
    next_log_body,
)


def entry(session: str, seq: Any) -> dict[str, Any]:
    return {"session_id": session, "recorded_seq": seq}


def log(session: str | None, seq: Any, history: list[dict[str, Any]]) -> ReplicationLog:
    body: dict[str, Any] = {"source_last_seq": seq, "history": history}
    if session is not None:
        body["session_id"] = session
    return ReplicationLog("_local/x", "0-1", body)


def test_same_session_on_both_sides_resumes_from_its_seq() -> None:
    history = [entry("s2", "20"), entry("s1", "10")]
    start = compare_logs(log("s2", "20", history), log("s2", "15", history[1:]))
    assert start == StartPoint("20", tuple(history))


def test_a_missing_log_on_either_side_starts_over() -> None:
    present = log("s1", "10", [entry("s1", "10")])
    missing = ReplicationLog("_local/x")
    assert compare_logs(present, missing) == StartPoint(LOWEST_SEQ)
    assert compare_logs(missing, present) == StartPoint(LOWEST_SEQ)
    assert compare_logs(missing, missing) == StartPoint(LOWEST_SEQ)


def test_sessions_differ_common_entry_found_in_target_history() -> None:
    # The source recorded s3 but the target's write was lost: resume from s2, both have it.
    source = [entry("s3", 30), entry("s2", 20), entry("s1", 10)]
    target = [entry("s2", 20), entry("s1", 10)]
    start = compare_logs(log("s3", 30, source), log("s2", 20, target))
    assert start.seq == 20 and start.history[0]["session_id"] == "s2"


def test_sessions_differ_common_entry_found_in_source_history() -> None:
    source = [entry("s2", 20), entry("s1", 10)]
    target = [entry("t9", 99), entry("s1", 10)]
    assert compare_histories(source, target).seq == 10


def test_newest_common_session_wins() -> None:
    source = [entry("a", 5), entry("s2", 20), entry("s1", 10)]
    target = [entry("b", 6), entry("s2", 20), entry("s1", 10)]
    assert compare_histories(source, target).seq == 20


def test_no_common_session_starts_over() -> None:
    assert compare_histories([entry("a", 1)], [entry("b", 2)]) == StartPoint(LOWEST_SEQ)
    assert compare_histories([], [entry("b", 2)]) == StartPoint(LOWEST_SEQ)
    assert compare_histories([entry("a", 1)], []) == StartPoint(LOWEST_SEQ)


def test_pouchdb_style_entries_use_last_seq() -> None:
    source = [{"session_id": "x", "last_seq": 7}]
    assert compare_histories(source, source).seq == 7


def test_log_accessors_tolerate_foreign_documents() -> None:
    odd = ReplicationLog("_local/x", "0-1", {"history": "nope", "source_last_seq": True})
    assert odd.history == () and odd.source_last_seq == LOWEST_SEQ and odd.session_id is None


def test_next_log_body_replaces_its_own_entry_and_bounds_history() -> None:
    old = [entry(f"s{i}", i) for i in range(CHECKPOINT_HISTORY_SIZE + 10)]
    common = dict(start_seq=0, started_at="t0", stats={"docs_read": 3}, history=old)
    first = next_log_body(session_id="new", recorded_seq="5", ended_at="t1", **common)  # type: ignore[arg-type]
    second = next_log_body(session_id="new", recorded_seq="9", ended_at="t2", **common)  # type: ignore[arg-type]
    assert second["session_id"] == "new" and second["source_last_seq"] == "9"
    assert len(second["history"]) == CHECKPOINT_HISTORY_SIZE
    assert second["history"][0]["recorded_seq"] == "9" and second["history"][0]["docs_read"] == 3
    assert [h["session_id"] for h in second["history"]].count("new") == 1
    assert first["history"][1:] == second["history"][1:]
    # What a new session reads back resumes where this one stopped.
    written = ReplicationLog("_local/x", "0-2", second)
    assert compare_logs(written, written).seq == "9"
