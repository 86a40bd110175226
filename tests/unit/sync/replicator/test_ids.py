"""The replication id names what is replicated — peers (without passwords) and filter — and
nothing about how the job runs."""

from __future__ import annotations

import pytest

from fieldhall.sync.replicator import Endpoint
from fieldhall.sync.replicator.ids import checkpoint_doc_id, job_id, replication_id

A = Endpoint.parse("http://alice:secret@Host-A:5984/db")
B = Endpoint.parse("https://b.example/couch/db%2Fx/")


def rid(source: Endpoint = A, target: Endpoint = B, **kw: object) -> str:
    return replication_id(source, target, replicator=str(kw.pop("replicator", "r1")), **kw)  # type: ignore[arg-type]


def test_stable_hex_and_direction_matters() -> None:
    assert rid() == rid()
    assert len(rid()) == 32 and int(rid(), 16) >= 0
    assert rid(A, B) != rid(B, A)


def test_password_is_not_part_of_it_but_user_host_port_path_are() -> None:
    assert rid(Endpoint.parse("http://alice:other@host-a:5984/db")) == rid()
    assert rid(Endpoint.parse("http://bob:secret@host-a:5984/db")) != rid()
    assert rid(Endpoint.parse("http://alice:secret@host-a:5985/db")) != rid()
    assert rid(Endpoint.parse("http://alice:secret@host-a:5984/db2")) != rid()
    # Case of the host, a default port and a trailing slash do not make another replication.
    assert rid(target=Endpoint.parse("https://B.EXAMPLE:443/couch/db%2Fx")) == rid()


def test_filter_and_replicator_matter() -> None:
    assert rid(doc_ids=["b", "a", "a"]) == rid(doc_ids=["a", "b"]) != rid()
    assert rid(doc_ids=["a"]) != rid(doc_ids=["a", "b"])
    assert rid(selector={"x": 1, "y": {"$gt": 2}}) == rid(selector={"y": {"$gt": 2}, "x": 1})
    assert rid(selector={"x": 1}) != rid(selector={"x": 2}) != rid()
    assert rid(replicator="r2") != rid()


def test_job_id_and_checkpoint_id() -> None:
    assert job_id("abc", continuous=False, create_target=False) == "abc"
    assert job_id("abc", continuous=True, create_target=True) == "abc+continuous+create_target"
    assert checkpoint_doc_id("abc") == "_local/abc"


def test_endpoint_parsing() -> None:
    e = Endpoint.parse("http://us%40er:p%3Ass@h:1234/db/")
    assert e.url == "http://h:1234/db" and e.auth == ("us@er", "p:ss")
    assert "p:ss" not in repr(e) and "p:ss" not in str(e)
    assert Endpoint.parse("http://u:p@h/db", auth="x:y").auth == ("x", "y")
    assert Endpoint.parse("http://h/a%2Fb").path == "/a%2Fb"
    assert Endpoint.parse("http://h/prefix/db").server_url == "http://h/prefix/"
    assert Endpoint.parse("http://[::1]:5984/db").host == "::1"
    for bad in ("ftp://h/db", "http://h/", "http:///db", "http://h/db?x=1", "db"):
        with pytest.raises(ValueError):
            Endpoint.parse(bad)
    with pytest.raises(ValueError) as info:
        Endpoint.parse("ftp://u:topsecret@h/db")
    assert "topsecret" not in str(info.value)
