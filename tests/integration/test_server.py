"""Server-level endpoints: the welcome, ``/_up``, ``/_uuids``, ``/_all_dbs`` and ``/_session``
(cookie login by form and by JSON, Basic auth, logout, lockout)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.integration.couch import assert_error
from tests.servers import ADMIN, CouchServer, threaded_couch


def test_welcome_answers_like_couchdb(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["couchdb"] == "Welcome"
    assert body["version"].startswith("3.")
    assert body["vendor"]["name"] == "fieldhall"
    assert len(body["uuid"]) == 32 and int(body["uuid"], 16) >= 0


def test_uuid_survives_a_restart_on_the_same_data(tmp_path: Path) -> None:
    with threaded_couch(tmp_path / "data") as first, first.client() as client:
        before = client.get("/").json()["uuid"]
        assert client.get("/").json()["uuid"] == before
    with threaded_couch(tmp_path / "data") as second, second.client() as client:
        assert client.get("/").json()["uuid"] == before
    with threaded_couch(tmp_path / "other") as third, third.client() as client:
        assert client.get("/").json()["uuid"] != before


def test_up(shared_couch: CouchServer) -> None:
    response = httpx.get(shared_couch.url + "/_up")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_uuids_are_fresh_hex_ids(client: httpx.Client) -> None:
    one = client.get("/_uuids").json()["uuids"]
    assert len(one) == 1 and len(one[0]) == 32
    many = client.get("/_uuids", params={"count": 25}).json()["uuids"]
    assert len(many) == 25 and len(set(many)) == 25
    assert one[0] not in many
    assert all(int(u, 16) >= 0 and len(u) == 32 for u in many)


def test_uuids_refuses_a_bad_count(client: httpx.Client) -> None:
    assert_error(client.get("/_uuids", params={"count": "x"}), 400, "bad_request")
    assert_error(client.get("/_uuids", params={"count": 5000}), 400, "bad_request")


def test_all_dbs_lists_databases_in_order(client: httpx.Client) -> None:
    for name in ("zz-last", "aa-first", "mm/middle"):
        client.put("/" + name.replace("/", "%2F"))
    names = client.get("/_all_dbs").json()
    assert names == sorted(names)
    assert {"zz-last", "aa-first", "mm/middle"} <= set(names)
    client.delete("/zz-last")
    assert "zz-last" not in client.get("/_all_dbs").json()


def test_anonymous_and_wrong_credentials_get_401_json(shared_couch: CouchServer) -> None:
    with httpx.Client(base_url=shared_couch.url) as anonymous:
        assert_error(anonymous.get("/_all_dbs"), 401, "unauthorized")
        assert_error(anonymous.put("/anon-db"), 401, "unauthorized")
        assert_error(anonymous.get("/anon-db/doc"), 401, "unauthorized")
        assert_error(anonymous.get("/_uuids"), 401, "unauthorized")


def test_session_without_credentials_is_anonymous(shared_couch: CouchServer) -> None:
    body = httpx.get(shared_couch.url + "/_session").json()
    assert body["ok"] is True
    assert body["userCtx"] == {"name": None, "roles": []}
    assert "authenticated" not in body["info"]


def test_session_with_basic_auth(client: httpx.Client) -> None:
    body = client.get("/_session").json()
    assert body["userCtx"] == {"name": "admin", "roles": ["_admin"]}
    assert body["info"]["authenticated"] == "default"
    assert "cookie" in body["info"]["authentication_handlers"]


def _login_and_use(url: str, **login: object) -> None:
    with httpx.Client(base_url=url) as browser:
        assert_error(browser.get("/_all_dbs"), 401, "unauthorized")
        response = browser.post("/_session", **login)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text
        assert response.json() == {"ok": True, "name": "admin", "roles": ["_admin"]}
        set_cookie = response.headers["set-cookie"]
        assert set_cookie.startswith("AuthSession=") and "HttpOnly" in set_cookie
        assert browser.cookies.get("AuthSession")
        # From now on the cookie alone authenticates.
        session = browser.get("/_session").json()
        assert session["userCtx"] == {"name": "admin", "roles": ["_admin"]}
        assert session["info"]["authenticated"] == "cookie"
        assert browser.get("/_all_dbs").status_code == 200
        logout = browser.delete("/_session")
        assert logout.status_code == 200 and logout.json() == {"ok": True}
        assert "AuthSession=;" in logout.headers["set-cookie"]
        assert not browser.cookies.get("AuthSession")
        assert_error(browser.get("/_all_dbs"), 401, "unauthorized")


def test_cookie_login_with_a_form(shared_couch: CouchServer) -> None:
    name, password = ADMIN
    _login_and_use(shared_couch.url, data={"name": name, "password": password})


def test_cookie_login_with_json(shared_couch: CouchServer) -> None:
    name, password = ADMIN
    _login_and_use(shared_couch.url, json={"name": name, "password": password})


def test_a_forged_cookie_is_refused(shared_couch: CouchServer) -> None:
    with httpx.Client(base_url=shared_couch.url) as browser:
        browser.cookies.set("AuthSession", "YWRtaW46NjZGRkZGRkY6MDAwMA")
        assert_error(browser.get("/_all_dbs"), 401, "unauthorized")
        assert browser.get("/_session").json()["userCtx"]["name"] is None


def test_login_refuses_wrong_passwords_and_locks_out(couch: CouchServer) -> None:
    name, password = ADMIN
    with httpx.Client(base_url=couch.url) as browser:
        assert_error(
            browser.post("/_session", data={"name": name, "password": "wrong"}),
            401,
            "unauthorized",
        )
        assert_error(browser.post("/_session", json={"name": name}), 400, "bad_request")
        for _ in range(4):
            assert_error(browser.get("/_all_dbs", auth=(name, "nope")), 401, "unauthorized")
        # Five failures: now even the right password is refused for a while.
        assert_error(browser.get("/_all_dbs", auth=ADMIN), 401, "unauthorized")
        response = browser.post("/_session", data={"name": name, "password": password})
        assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_session_refuses_other_methods(client: httpx.Client, method: str) -> None:
    assert_error(client.request(method, "/_session"), 405, "method_not_allowed")


def test_lockout_ends_and_can_start_again(
    couch: CouchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fieldhall.sync.http import auth

    monkeypatch.setattr(auth, "LOCKOUT_SECONDS", 0.5)
    name, _ = ADMIN
    with httpx.Client(base_url=couch.url) as browser:
        for _window in range(2):  # a guesser is locked out again in every new window
            for _ in range(5):
                assert_error(browser.get("/_all_dbs", auth=(name, "nope")), 401, "unauthorized")
            assert_error(browser.get("/_all_dbs", auth=ADMIN), 401, "unauthorized")
            time.sleep(0.6)
        assert browser.get("/_all_dbs", auth=ADMIN).status_code == 200
