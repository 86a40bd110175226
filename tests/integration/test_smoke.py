"""The CouchDB surface answers the basics a client checks first."""

from __future__ import annotations

from tests.servers import CouchServer


def test_welcome_has_couchdb_and_a_stable_uuid(couch: CouchServer) -> None:
    with couch.client() as client:
        first = client.get("/").json()
        second = client.get("/").json()
    assert first["couchdb"] == "Welcome"
    assert first["uuid"] == second["uuid"] and len(first["uuid"]) == 32


def test_create_write_read_and_changes(couch: CouchServer) -> None:
    with couch.client() as client:
        assert client.put("/db").status_code == 201
        created = client.put("/db/a%2Fb", json={"x": 1})
        assert created.status_code == 201
        rev = created.json()["rev"]
        doc = client.get("/db/a%2Fb")
        assert doc.json() == {"_id": "a/b", "_rev": rev, "x": 1}
        assert doc.headers["etag"] == f'"{rev}"'
        changes = client.get("/db/_changes").json()
        assert [r["id"] for r in changes["results"]] == ["a/b"]


def test_anonymous_requests_are_refused_with_json(couch: CouchServer) -> None:
    import httpx

    response = httpx.get(couch.url + "/_all_dbs")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.headers["content-type"].startswith("application/json")
