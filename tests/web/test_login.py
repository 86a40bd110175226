"""The hall UI's doors: login with its CSRF token, sessions, lockouts, logout, roles, and the
security headers of every page."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fieldhall.server.web.sessions import AddressThrottle
from tests.hall.support import LocalHall, add_staff, local_hall, password
from tests.web.support import csrf_of, login, login_form

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHall]:
    with local_hall(tmp_path_factory.mktemp("web")) as running:
        add_staff(running.database_url, {"lena": ("clerk", None), "otto": ("clerk", None)})
        yield running


def anonymous(hall: LocalHall, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=hall.url, follow_redirects=False, headers=headers, timeout=60)


def assert_secure_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"


def test_pages_need_a_login_and_send_you_back_after_it(hall: LocalHall) -> None:
    client = anonymous(hall)
    for path in ("/hall/", "/hall/cases?state=notice", "/hall/supervision", "/hall/cases/x"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/hall/login?next=%2Fhall")
    token = csrf_of(client.get("/hall/login?next=%2Fhall%2Fcases%3Fstate%3Dnotice").text)
    response = client.post(
        "/hall/login",
        data={
            "_csrf": token,
            "username": "carol",
            "password": password("carol"),
            "next": "/hall/cases?state=notice",
        },
    )
    assert response.headers["location"] == "/hall/cases?state=notice"


def test_the_login_page_is_chinese_and_locked_down(hall: LocalHall) -> None:
    response = anonymous(hall, **{"Accept-Language": "en-US"}).get("/hall/login")
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in response.text and "登录" in response.text
    assert_secure_headers(response)
    assert "<script>" not in response.text and " style=" not in response.text
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/hall/login" in cookie


def test_english_on_request(hall: LocalHall) -> None:
    client = anonymous(hall)
    switched = client.get("/hall/lang/en?next=/hall/login")
    assert switched.status_code == 303 and switched.headers["location"] == "/hall/login"
    page = client.get("/hall/login")
    assert '<html lang="en">' in page.text and ">Log in<" in page.text


def test_a_login_without_its_token_is_refused(hall: LocalHall) -> None:
    client = anonymous(hall)
    form = {"username": "carol", "password": password("carol")}
    assert client.post("/hall/login", data=form).status_code == 403
    client.get("/hall/login")  # the cookie half, but a forged form half
    refused = client.post("/hall/login", data={**form, "_csrf": "forged"})
    assert refused.status_code == 403 and "hall_session" not in refused.headers.get(
        "set-cookie", ""
    )


def test_the_session_cookie(hall: LocalHall) -> None:
    client = anonymous(hall)
    client.cookies.set("hall_session", "planted-by-an-attacker", path="/hall")
    response = login_form(client, "carol", password("carol"))
    assert response.status_code == 303 and response.headers["location"] == "/hall/cases"
    cookie = next(c for c in response.headers.get_list("set-cookie") if "hall_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/hall" in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1
    assert "planted-by-an-attacker" not in cookie  # a fresh id, never the offered one
    # A browser-session cookie: the server ends idle sessions; a cookie that expired a fixed
    # time after login would cut off a clerk in the middle of a working day.
    assert "max-age" not in cookie.lower() and "expires" not in cookie.lower()
    # Behind a TLS-terminating proxy every cookie is Secure (httpx, on plain http, would not
    # send a Secure cookie back: the test hands it over itself).
    tls = anonymous(hall, **{"X-Forwarded-Proto": "https"})
    form = tls.get("/hall/login")
    assert "Secure" in form.headers["set-cookie"]
    token = csrf_of(form.text)
    signed_in = tls.post(
        "/hall/login",
        data={"_csrf": token, "username": "carol", "password": password("carol")},
        headers={"Cookie": f"hall_login_csrf={token}"},
    )
    assert signed_in.status_code == 303
    assert any(
        "hall_session=" in c and "Secure" in c for c in signed_in.headers.get_list("set-cookie")
    )


def test_wrong_password_then_account_lockout(hall: LocalHall) -> None:
    client = anonymous(hall)
    for _ in range(5):
        response = login_form(client, "lena", "not-the-password")
        assert response.status_code == 401 and 'role="alert"' in response.text
    # Locked: the right password does not get in either, and the answer is the same.
    locked = login_form(client, "lena", password("lena"))
    assert locked.status_code == 401 and "hall_session" not in locked.headers.get("set-cookie", "")
    # Another account from the same machine is not affected.
    assert login_form(client, "otto", password("otto")).status_code == 303


def test_address_lockout(hall: LocalHall) -> None:
    web = hall.app.state.hall_web
    saved = web.throttle
    web.throttle = AddressThrottle(limit=3, window=60)
    try:
        client = anonymous(hall)
        for name in ("nobody1", "nobody2", "nobody3"):
            assert login_form(client, name, "guess-guess").status_code == 401
        blocked = login_form(client, "carol", password("carol"))
        assert blocked.status_code == 429 and "hall_session" not in blocked.headers.get(
            "set-cookie", ""
        )
    finally:
        web.throttle = saved


def test_logout_needs_the_token_and_ends_the_session(hall: LocalHall) -> None:
    client = login(hall.url, "carol")
    inbox = client.get("/hall/cases")
    assert inbox.status_code == 200
    stolen = client.cookies["hall_session"]
    assert client.post("/hall/logout", data={}).status_code == 403
    assert client.get("/hall/cases").status_code == 200  # still signed in
    out = client.post("/hall/logout", data={"_csrf": csrf_of(inbox.text)})
    assert out.status_code == 303 and out.headers["location"] == "/hall/login"
    replay = anonymous(hall)
    replay.cookies.set("hall_session", stolen, path="/hall")
    assert replay.get("/hall/cases").status_code == 303  # the old cookie is worthless


@pytest.mark.parametrize(
    ("user", "path", "status"),
    [
        ("carol", "/hall/cases", 200),
        ("carol", "/hall/supervision", 403),
        ("rhea", "/hall/cases", 200),
        ("rhea", "/hall/supervision", 403),
        ("sam", "/hall/supervision", 200),
        ("sam", "/hall/cases", 200),
        ("root", "/hall/cases", 403),
        ("root", "/hall/supervision", 403),
        ("root", "/hall/account", 200),
    ],
)
def test_roles(hall: LocalHall, user: str, path: str, status: int) -> None:
    response = login(hall.url, user).get(path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert_secure_headers(response)
    if status == 403:
        assert "403" in response.text and "无权访问" in response.text


def test_navigation_follows_the_role(hall: LocalHall) -> None:
    clerk = login(hall.url, "carol").get("/hall/cases").text
    supervisor = login(hall.url, "sam").get("/hall/cases").text
    assert 'href="/hall/cases"' in clerk and 'href="/hall/supervision"' not in clerk
    assert 'href="/hall/supervision"' in supervisor
    homes = {user: login(hall.url, user).get("/hall/").headers["location"] for user in STAFFS}
    assert homes == {
        "carol": "/hall/cases",
        "rhea": "/hall/cases",
        "sam": "/hall/supervision",
        "root": "/hall/account",
    }


STAFFS = ("carol", "rhea", "sam", "root")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/hall//evil"])
def test_no_open_redirect_after_login(hall: LocalHall, target: str) -> None:
    client = anonymous(hall)
    token = csrf_of(client.get("/hall/login").text)
    response = client.post(
        "/hall/login",
        data={"_csrf": token, "username": "carol", "password": password("carol"), "next": target},
    )
    assert response.headers["location"] == "/hall/cases"


def test_static_files_are_local_and_headed(hall: LocalHall) -> None:
    client = anonymous(hall)
    page = client.get("/hall/login").text
    assert 'src="/hall/static/hall.js"' in page and 'href="/hall/static/hall.css"' in page
    assert "http://" not in page and "https://" not in page  # nothing from other hosts
    for asset in ("hall.js", "hall.css", "favicon.svg"):
        response = client.get(f"/hall/static/{asset}")
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"


def test_session_dies_with_the_account(hall: LocalHall, tmp_path: Path) -> None:
    from sqlmodel import Session

    from fieldhall.field_app_api.tables import StaffAccount
    from fieldhall.sync.connection import create_store_engine

    add_staff(hall.database_url, {"temp": ("clerk", None)})
    client = login(hall.url, "temp")
    assert client.get("/hall/cases").status_code == 200
    engine = create_store_engine(hall.database_url)
    try:
        with Session(engine) as session:
            account = session.get(StaffAccount, "temp")
            assert account is not None
            account.active = False
            session.add(account)
            session.commit()
    finally:
        engine.dispose()
    assert client.get("/hall/cases").status_code == 303


def test_unknown_pages_are_html_404s(hall: LocalHall) -> None:
    response = anonymous(hall).get("/hall/no-such-page")
    assert response.status_code == 404 and "页面不存在" in response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert_secure_headers(response)


def test_logins_and_logouts_are_audited(hall: LocalHall) -> None:
    from sqlmodel import Session

    from fieldhall.server.hall.audit import Subject, list_entries, verify
    from fieldhall.sync.connection import create_store_engine

    add_staff(hall.database_url, {"ada": ("clerk", None)})
    assert login_form(anonymous(hall), "ada", "wrong-password").status_code == 401
    client = login(hall.url, "ada")
    page = client.get("/hall/cases").text
    assert client.post("/hall/logout", data={"_csrf": csrf_of(page)}).status_code == 303
    engine = create_store_engine(hall.database_url)
    try:
        with Session(engine) as session:
            entries = list_entries(session, subject=Subject("staff", "ada"))
            assert verify(session).ok
    finally:
        engine.dispose()
    assert [(e.action, e.actor.id, e.details["via"]) for e in entries] == [
        ("staff.logged_in", "ada", "hall_web"),
        ("staff.logged_out", "ada", "hall_web"),
    ]
    assert entries[0].details["address"] == "127.0.0.1"


@pytest.mark.parametrize("cookie", ["../../etc/passwd", "x" * 43 + "!", "a" * 500, ""])
def test_odd_session_cookies_are_no_session(hall: LocalHall, cookie: str) -> None:
    client = anonymous(hall)
    client.cookies.set("hall_session", cookie, path="/hall")
    assert client.get("/hall/cases").status_code == 303


def test_a_damaged_session_file_is_no_session(hall: LocalHall) -> None:
    client = login(hall.url, "carol")
    session_id = client.cookies["hall_session"]
    # Litestar's FileStore names each file by the BLAKE2s of its key.
    stored = hall.hall.data_dir / "hall-sessions" / hashlib.blake2s(session_id.encode()).hexdigest()
    assert stored.is_file()
    stored.write_bytes(b"garbage")
    assert client.get("/hall/cases").status_code == 303


def test_a_session_ends_after_its_lifetime(
    hall: LocalHall, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from fieldhall.server.web import sessions

    client = login(hall.url, "carol")
    assert client.get("/hall/cases").status_code == 200
    monkeypatch.setattr(sessions, "LIFETIME", timedelta(0))  # the working day is over
    assert client.get("/hall/cases").status_code == 303
    monkeypatch.undo()
    assert client.get("/hall/cases").status_code == 303  # ended, not merely refused
