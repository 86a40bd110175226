"""Behaviour every store backend must show; run on SQLite (tests/unit/sync/test_store.py) and
on PostgreSQL (tests/pg/test_store_pg.py) with their own ``store`` fixture."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from fieldhall.sync import revtree
from fieldhall.sync.documents import IncomingDoc, parse_incoming
from fieldhall.sync.errors import Conflict, Forbidden, NotFound, PreconditionFailed
from fieldhall.sync.policy import Principal, WriteContext
from fieldhall.sync.store import Store


def edit(store: Store, db: str, raw: dict[str, Any]) -> str:
    result = store.bulk_docs(db, [parse_incoming(raw, new_edits=True)])[0]
    if result.error is not None:
        raise result.error
    assert result.rev is not None
    return result.rev


def replicate(store: Store, db: str, raw: dict[str, Any]) -> None:
    result = store.bulk_docs(db, [parse_incoming(raw, new_edits=False)], new_edits=False)[0]
    if result.error is not None:
        raise result.error


def body_of(store: Store, db: str, doc_id: str, rev: str) -> dict[str, Any]:
    return store.revisions(db, [(doc_id, rev)])[(doc_id, rev)].body


def test_database_lifecycle(store: Store) -> None:
    assert store.create_database("db1")
    with pytest.raises(PreconditionFailed):
        store.create_database("db1")
    assert "db1" in store.database_names()
    store.delete_database("db1")
    assert not store.database_exists("db1")
    with pytest.raises(NotFound):
        store.info("db1")


def test_updates_need_the_current_leaf(store: Store) -> None:
    store.create_database("db")
    rev1 = edit(store, "db", {"_id": "a", "v": 1})
    rev2 = edit(store, "db", {"_id": "a", "_rev": rev1, "v": 2})
    assert revtree.generation(rev2) == 2
    with pytest.raises(Conflict):
        edit(store, "db", {"_id": "a", "_rev": rev1, "v": 3})
    with pytest.raises(Conflict):
        edit(store, "db", {"_id": "a", "v": 3})
    state = store.document("db", "a")
    assert state.winner == rev2 and not state.deleted
    assert body_of(store, "db", "a", rev2) == {"v": 2}


def test_same_edit_gives_the_same_rev_on_two_stores(store: Store) -> None:
    store.create_database("x1")
    store.create_database("x2")
    assert edit(store, "x1", {"_id": "a", "v": 1}) == edit(store, "x2", {"_id": "a", "v": 1})


def test_delete_then_recreate_extends_the_deleted_branch(store: Store) -> None:
    store.create_database("db")
    rev1 = edit(store, "db", {"_id": "a"})
    rev2 = edit(store, "db", {"_id": "a", "_rev": rev1, "_deleted": True})
    info = store.info("db")
    assert (info.doc_count, info.doc_del_count) == (0, 1)
    rev3 = edit(store, "db", {"_id": "a", "v": "again"})
    assert revtree.generation(rev3) == 3
    assert store.document("db", "a").tree[rev3].parent == rev2
    assert (store.info("db").doc_count, store.info("db").doc_del_count) == (1, 0)


def test_replicated_branches_become_conflicts_with_couchdb_winner(store: Store) -> None:
    store.create_database("db")
    replicate(store, "db", {"_id": "c", "_rev": "1-a", "v": 0})
    replicate(
        store, "db", {"_id": "c", "_rev": "2-b", "_revisions": {"start": 2, "ids": ["b", "a"]}}
    )
    replicate(
        store, "db", {"_id": "c", "_rev": "2-c", "_revisions": {"start": 2, "ids": ["c", "a"]}}
    )
    replicate(
        store,
        "db",
        {
            "_id": "c",
            "_rev": "3-d",
            "_deleted": True,
            "_revisions": {"start": 3, "ids": ["d", "c", "a"]},
        },
    )
    state = store.document("db", "c")
    # The deleted leaf 3-d loses to the live 2-b despite its higher generation.
    assert state.winner == "2-b"
    assert revtree.conflicts(state.tree) == []
    assert revtree.deleted_conflicts(state.tree) == ["3-d"]
    seq = state.seq
    replicate(
        store, "db", {"_id": "c", "_rev": "2-b", "_revisions": {"start": 2, "ids": ["b", "a"]}}
    )
    assert store.document("db", "c").seq == seq, "re-sending a known revision must not bump seq"


def test_revs_limit_stems_history(store: Store) -> None:
    store.create_database("db")
    store.set_revs_limit("db", 5)
    rev = edit(store, "db", {"_id": "s", "n": 0})
    for n in range(1, 20):
        rev = edit(store, "db", {"_id": "s", "_rev": rev, "n": n})
    state = store.document("db", "s")
    assert len(state.tree) == 5
    assert revtree.revisions_of(state.tree, rev)["start"] == 20
    assert body_of(store, "db", "s", rev) == {"n": 19}


def test_changes_since_limit_descending_and_doc_ids(store: Store) -> None:
    store.create_database("db")
    for i in range(10):
        edit(store, "db", {"_id": f"d{i}"})
    rev = store.document("db", "d3").winner
    edit(store, "db", {"_id": "d3", "_rev": rev, "again": True})
    states, last = store.changes("db", since=0, limit=None)
    assert [s.doc_id for s in states] == [f"d{i}" for i in range(10) if i != 3] + ["d3"]
    assert last == 11
    page, last_page = store.changes("db", since=0, limit=4)
    assert len(page) == 4 and last_page == page[-1].seq
    rest, _ = store.changes("db", since=last_page, limit=None)
    assert {s.doc_id for s in page} | {s.doc_id for s in rest} == {f"d{i}" for i in range(10)}
    down, _ = store.changes("db", since=0, limit=3, descending=True)
    assert [s.doc_id for s in down] == ["d3", "d9", "d8"]
    only, _ = store.changes("db", since=0, limit=None, doc_ids=["d1", "d5", "nope"])
    assert [s.doc_id for s in only] == ["d1", "d5"]


def test_all_docs_ranges(store: Store) -> None:
    store.create_database("db")
    for doc_id in ["b", "a", "d", "c", "é", "Z"]:
        edit(store, "db", {"_id": doc_id})
    rev = store.document("db", "d").winner
    edit(store, "db", {"_id": "d", "_rev": rev, "_deleted": True})
    rows, total = store.all_docs("db")
    assert [s.doc_id for s in rows] == ["Z", "a", "b", "c", "é"]  # byte order
    assert total == 5
    rows, _ = store.all_docs("db", start="a", end="c", inclusive_end=False)
    assert [s.doc_id for s in rows] == ["a", "b"]
    rows, _ = store.all_docs("db", start="c", end="a", descending=True, limit=2)
    assert [s.doc_id for s in rows] == ["c", "b"]
    rows, _ = store.all_docs("db", skip=1, limit=2)
    assert [s.doc_id for s in rows] == ["a", "b"]


def test_revs_diff_reports_missing_and_possible_ancestors(store: Store) -> None:
    store.create_database("db")
    rev1 = edit(store, "db", {"_id": "a"})
    diff = store.revs_diff("db", {"a": [rev1, "2-x", "3-y"], "b": ["1-z"]})
    assert diff == {
        "a": {"missing": ["2-x", "3-y"], "possible_ancestors": [rev1]},
        "b": {"missing": ["1-z"]},
    }


def test_local_documents_are_private_and_not_in_feeds(store: Store) -> None:
    store.create_database("db")
    rev = store.put_local("db", "_local/cp", {"seq": 1}, None)
    assert rev == "0-1"
    with pytest.raises(Conflict):
        store.put_local("db", "_local/cp", {"seq": 2}, None)
    assert store.put_local("db", "_local/cp", {"seq": 2}, "0-1") == "0-2"
    device = Principal("device-1", frozenset({"agent:1"}))
    with pytest.raises(NotFound):
        store.get_local("db", "_local/cp", device)
    store.put_local("db", "_local/cp", {"mine": True}, None, device)
    assert store.get_local("db", "_local/cp", device)["mine"] is True
    assert store.get_local("db", "_local/cp")["seq"] == 2
    assert store.changes("db", since=0, limit=None)[0] == []
    assert store.all_docs("db")[0] == []


def test_attachments_are_shared_between_revisions_and_compacted(store: Store) -> None:
    import base64

    store.create_database("db")
    data = base64.b64encode(b"photo bytes" * 100).decode()
    rev1 = edit(
        store,
        "db",
        {"_id": "p", "_attachments": {"a.jpg": {"content_type": "image/jpeg", "data": data}}},
    )
    rev2 = edit(
        store, "db", {"_id": "p", "_rev": rev1, "v": 2, "_attachments": {"a.jpg": {"stub": True}}}
    )
    atts = store.revisions("db", [("p", rev2)])[("p", rev2)].attachments
    assert atts["a.jpg"].revpos == 1 and atts["a.jpg"].length == 1100
    sha = atts["a.jpg"].sha256
    assert store.blobs.read(sha) == b"photo bytes" * 100
    with pytest.raises(PreconditionFailed):
        edit(store, "db", {"_id": "p", "_rev": rev2, "_attachments": {"b.jpg": {"stub": True}}})
    edit(store, "db", {"_id": "p", "_rev": rev2, "v": 3})  # drops the attachment
    assert store.blobs.exists(sha)
    store.compact("db", grace_seconds=0)
    assert not store.blobs.exists(sha)
    assert ("p", rev1) not in store.revisions("db", [("p", rev1)])


class _OnlyOwnDocs:
    def check_write(
        self,
        principal: Principal,
        new_doc: Mapping[str, Any],
        old_doc: Mapping[str, Any] | None,
        context: WriteContext,
    ) -> None:
        if new_doc.get("owner") != principal.name:
            raise Forbidden("not_owner: owner must be you")

    def after_write(
        self, principal: Principal, new_doc: Mapping[str, Any], context: WriteContext
    ) -> None:
        self.stored.append(new_doc["_id"])

    def __init__(self) -> None:
        self.stored: list[str] = []


def test_channels_and_policy_restrict_every_path(store: Store) -> None:
    store.channel_function = lambda doc: frozenset({f"agent:{doc.get('owner')}"})
    store.write_policy = _OnlyOwnDocs()
    bob = Principal("bob", frozenset({"agent:bob"}))
    alice = Principal("alice", frozenset({"agent:alice"}))
    store.create_database("db")
    results = store.bulk_docs(
        "db",
        [
            parse_incoming({"_id": "b1", "owner": "bob"}, new_edits=True),
            parse_incoming({"_id": "x1", "owner": "alice"}, new_edits=True),
            parse_incoming({"_id": "b2", "owner": "bob"}, new_edits=True),
        ],
        principal=bob,
    )
    assert [r.error is None for r in results] == [True, False, True]
    assert store.write_policy.stored == ["b1", "b2"]
    assert results[1].error is not None and results[1].error.reason.startswith("not_owner")
    store.bulk_docs(
        "db", [parse_incoming({"_id": "a1", "owner": "alice"}, new_edits=True)], principal=alice
    )
    assert [s.doc_id for s in store.changes("db", since=0, limit=None, principal=bob)[0]] == [
        "b1",
        "b2",
    ]
    assert [s.doc_id for s in store.all_docs("db", principal=alice)[0]] == ["a1"]
    assert store.info("db", bob).doc_count == 2
    with pytest.raises(NotFound):
        store.document("db", "a1", bob)
    assert store.documents("db", ["a1", "b1"], bob).keys() == {"b1"}
    assert store.revs_diff("db", {"a1": [store.document("db", "a1").winner]}, bob) != {}
    # Bob cannot overwrite Alice's document even if he guesses its rev.
    a1_rev = store.document("db", "a1").winner
    raw = {"_id": "a1", "_rev": a1_rev, "owner": "bob"}
    result = store.bulk_docs("db", [parse_incoming(raw, new_edits=True)], principal=bob)[0]
    assert isinstance(result.error, Forbidden)
    assert store.document("db", "a1").winner == a1_rev


def test_concurrent_writers_never_make_a_reader_skip(store: Store) -> None:
    """Sequences follow commit order: a reader following `since` sees every document."""
    store.create_database("db")
    writers, per_writer = 4, 40
    seen: set[str] = set()
    done = threading.Event()
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(per_writer):
                docs = [parse_incoming({"_id": f"w{n}-{i}-{k}"}, new_edits=True) for k in range(3)]
                assert all(r.error is None for r in store.bulk_docs("db", docs))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def read() -> None:
        since = 0
        while True:
            finished = done.is_set()
            states, _ = store.changes("db", since=since, limit=50)
            seen.update(s.doc_id for s in states)
            since = states[-1].seq if states else since
            if finished and not states:
                return

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    reader = threading.Thread(target=read)
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    done.set()
    reader.join(timeout=120)
    assert not errors
    assert len(seen) == writers * per_writer * 3
    info = store.info("db")
    assert info.update_seq == writers * per_writer * 3 and info.doc_count == info.update_seq


def test_new_docs_in_one_batch_with_same_id_conflict(store: Store) -> None:
    store.create_database("db")
    docs: list[IncomingDoc] = [
        parse_incoming({"_id": "same", "v": 1}, new_edits=True),
        parse_incoming({"_id": "same", "v": 2}, new_edits=True),
    ]
    results = store.bulk_docs("db", docs)
    assert results[0].error is None
    assert isinstance(results[1].error, Conflict)


def test_compaction_spares_young_blobs_of_writes_in_flight(store: Store) -> None:
    """A write stores its bytes before its row commits: compaction must not take them."""
    store.create_database("db")
    pending = store.blobs.put(b"bytes of a write still waiting for the write lock")
    assert store.compact("db") == 0  # default grace period
    assert store.blobs.exists(pending.sha256)
    assert store.compact("db", grace_seconds=0) == 1
    assert not store.blobs.exists(pending.sha256)


class _PreparesFirst:
    """A PreparingWritePolicy: refuses documents marked ``bad`` before the transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.log: list[tuple[str, str]] = []
        self.concurrent_write_done = False

    def prepare_write(
        self, principal: Principal, database: str, new_doc: Mapping[str, Any]
    ) -> object:
        if principal.is_admin:
            return None
        self.log.append(("prepare", str(new_doc["_id"])))
        if new_doc["_id"] == "p1":
            # Another writer commits to the same database meanwhile: no write lock is held yet.
            other = parse_incoming({"_id": "other", "owner": "admin"}, new_edits=True)
            writer = threading.Thread(target=self.store.bulk_docs, args=(database, [other]))
            writer.start()
            writer.join(20)
            self.concurrent_write_done = not writer.is_alive()
        return "refused" if new_doc.get("bad") else f"checked {new_doc['_id']}"

    def check_write(
        self,
        principal: Principal,
        new_doc: Mapping[str, Any],
        old_doc: Mapping[str, Any] | None,
        context: WriteContext,
    ) -> None:
        if principal.is_admin:
            return
        self.log.append(("check", str(context.prepared)))
        if context.prepared == "refused":
            raise Forbidden("bad: refused before the transaction")

    def after_write(
        self, principal: Principal, new_doc: Mapping[str, Any], context: WriteContext
    ) -> None:
        pass


def test_a_preparing_policy_checks_every_document_before_the_write_transaction(
    store: Store,
) -> None:
    policy = _PreparesFirst(store)
    store.write_policy = policy
    store.create_database("db")
    bob = Principal("bob")
    results = store.bulk_docs(
        "db",
        [
            parse_incoming({"_id": "p1"}, new_edits=True),
            parse_incoming({"_id": "p2", "bad": True}, new_edits=True),
            parse_incoming({"_id": "p3"}, new_edits=True),
        ],
        principal=bob,
    )
    assert policy.concurrent_write_done
    assert policy.log == [
        ("prepare", "p1"),
        ("prepare", "p2"),
        ("prepare", "p3"),
        ("check", "checked p1"),
        ("check", "refused"),
        ("check", "checked p3"),
    ]
    assert [r.error is None for r in results] == [True, False, True]
    assert results[1].error is not None and results[1].error.error_name == "forbidden"
    assert sorted(s.doc_id for s in store.changes("db", since=0, limit=None)[0]) == [
        "other",
        "p1",
        "p3",
    ]


class _ChecksInBatches:
    """A BatchWritePolicy: refuses a document whose ``after`` names no document stored before
    it (in the database or earlier in the batch), the way a policy checks a chain of its own."""

    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []
        self.fail_at_end = False

    def begin_batch(
        self, principal: Principal, bodies: Sequence[Mapping[str, Any]], context: WriteContext
    ) -> None:
        self.log.append(("begin", [b.get("n") for b in bodies], dict(context.batch)))
        context.batch["stored"] = set()

    def check_write(
        self,
        principal: Principal,
        new_doc: Mapping[str, Any],
        old_doc: Mapping[str, Any] | None,
        context: WriteContext,
    ) -> None:
        self.log.append(("check", new_doc["_id"]))
        after = new_doc.get("after")
        if after is not None and after not in context.batch["stored"]:
            raise Forbidden(f"out_of_order: {after} is not stored before it")

    def after_write(
        self, principal: Principal, new_doc: Mapping[str, Any], context: WriteContext
    ) -> None:
        self.log.append(("after", new_doc["_id"]))
        context.batch["stored"].add(new_doc["_id"])

    def end_batch(self, principal: Principal, context: WriteContext) -> None:
        self.log.append(("end", sorted(context.batch["stored"])))
        if self.fail_at_end:
            raise RuntimeError("the policy's own write failed")


def test_a_batch_policy_sees_each_write_as_one_batch_inside_its_transaction(
    store: Store,
) -> None:
    """begin_batch before the first check with every body in order, state shared by the
    batch's documents and fresh for the next write, end_batch after the last after_write and
    inside the transaction: when it fails, nothing of the write is stored."""
    policy = _ChecksInBatches()
    store.write_policy = policy
    store.create_database("db")
    bob = Principal("bob")
    results = store.bulk_docs(
        "db",
        [
            parse_incoming({"_id": "a", "n": 1}, new_edits=True),
            parse_incoming({"_id": "b", "n": 2, "after": "a"}, new_edits=True),
            parse_incoming({"_id": "c", "n": 3, "after": "z"}, new_edits=True),
        ],
        principal=bob,
    )
    assert [r.error is None for r in results] == [True, True, False]
    assert policy.log == [
        ("begin", [1, 2, 3], {}),
        ("check", "a"),
        ("after", "a"),
        ("check", "b"),
        ("after", "b"),
        ("check", "c"),
        ("end", ["a", "b"]),
    ]
    policy.log.clear()
    [result] = store.bulk_docs(
        "db", [parse_incoming({"_id": "d", "after": "a"}, new_edits=True)], principal=bob
    )
    assert result.error is not None and result.error.reason.startswith("out_of_order")
    assert policy.log[0] == ("begin", [None], {})  # nothing left over from the last write
    before = store.info("db").update_seq
    policy.fail_at_end = True
    with pytest.raises(RuntimeError, match="own write"):
        store.bulk_docs("db", [parse_incoming({"_id": "e"}, new_edits=True)], principal=bob)
    assert store.info("db").update_seq == before
    with pytest.raises(NotFound):
        store.document("db", "e")


def test_a_write_and_its_companions_are_each_a_batch_to_a_batch_policy(store: Store) -> None:
    policy = _ChecksInBatches()
    store.write_policy = policy
    store.create_database("db")

    def acknowledge(
        connection: Any, db: str, principal: Principal, docs: list[dict[str, Any]]
    ) -> list[IncomingDoc]:
        if principal.is_admin:
            return []
        return [parse_incoming({"_id": f"ack:{d['_id']}", "n": 9}, new_edits=True) for d in docs]

    store.companion_writers.append(acknowledge)
    [result] = store.bulk_docs(
        "db", [parse_incoming({"_id": "a", "n": 1}, new_edits=True)], principal=Principal("bob")
    )
    assert result.error is None
    assert policy.log == [
        ("begin", [1], {}),
        ("check", "a"),
        ("after", "a"),
        ("end", ["a"]),
        ("begin", [9], {}),
        ("check", "ack:a"),
        ("after", "ack:a"),
        ("end", ["ack:a"]),
    ]


def test_companions_commit_with_their_write_or_not_at_all(store: Store) -> None:
    """A companion writer's documents (and its own statements) commit in the transaction of
    the write they accompany; when one is refused, nothing of the write is stored."""
    store.create_database("db")
    bob = Principal("bob")
    heard: list[tuple[bool, list[str]]] = []
    refuse_next: list[bool] = [False]

    def acknowledge(
        connection: Any, db: str, principal: Principal, docs: list[dict[str, Any]]
    ) -> list[IncomingDoc]:
        if principal.is_admin:  # the admin's own writes are not acknowledged
            return []
        # An id already taken by a different document conflicts: the companion is refused.
        prefix = "taken" if refuse_next[0] else "ack"
        return [
            parse_incoming({"_id": f"{prefix}:{d['_id']}", "for": d["_rev"]}, new_edits=True)
            for d in docs
        ]

    store.companion_writers.append(acknowledge)
    store.commit_listeners.append(
        lambda db, principal, docs: heard.append((principal.is_admin, [d["_id"] for d in docs]))
    )
    results = store.bulk_docs(
        "db",
        [parse_incoming({"_id": f"d{i}", "v": i}, new_edits=True) for i in range(3)],
        principal=bob,
    )
    assert all(r.error is None for r in results)
    acks = {s.doc_id: s for s in store.changes("db", since=0, limit=None)[0]}
    assert set(acks) == {"d0", "d1", "d2", "ack:d0", "ack:d1", "ack:d2"}
    assert body_of(store, "db", "ack:d1", acks["ack:d1"].winner)["for"] == results[1].rev
    assert heard == [(False, ["d0", "d1", "d2"]), (True, ["ack:d0", "ack:d1", "ack:d2"])]
    # The admin's writes get no companions from this writer; one takes the id next used.
    edit(store, "db", {"_id": "taken:d3", "v": "already here"})
    before = store.info("db").update_seq
    refuse_next[0] = True
    with pytest.raises(RuntimeError, match="companion"):
        store.bulk_docs("db", [parse_incoming({"_id": "d3"}, new_edits=True)], principal=bob)
    assert store.info("db").update_seq == before
    with pytest.raises(NotFound):
        store.document("db", "d3")


def test_write_listeners_hear_every_write_start_and_end_even_a_failed_one(store: Store) -> None:
    """What is being written right now: a start before anything of the write happens, an end
    once it has committed, been refused or failed — so a count of writes in flight (the hall's
    pacing of its background work) always comes back to zero."""
    store.create_database("db")
    bob = Principal("bob")
    heard: list[tuple[str, str, bool, int]] = []

    def listen(db: str, principal: Principal, writing: bool) -> None:
        heard.append((db, principal.name, writing, store.info("db").update_seq))

    store.write_listeners.append(listen)
    before = store.info("db").update_seq
    store.bulk_docs("db", [parse_incoming({"_id": "a"}, new_edits=True)], principal=bob)
    assert heard == [("db", "bob", True, before), ("db", "bob", False, before + 1)]

    def broken(connection: Any, db: str, principal: Principal, docs: Any) -> list[IncomingDoc]:
        raise RuntimeError("the companion writer failed")

    store.companion_writers.append(broken)
    heard.clear()
    with pytest.raises(RuntimeError, match="companion writer failed"):
        store.bulk_docs("db", [parse_incoming({"_id": "b"}, new_edits=True)], principal=bob)
    assert [writing for _, _, writing, _ in heard] == [True, False]
    assert store.info("db").update_seq == before + 1  # nothing of it stored
