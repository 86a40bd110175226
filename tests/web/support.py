"""What the web UI tests share: a browser-like client that logs in through the form."""

from __future__ import annotations

import re

import httpx

from tests.hall.support import password

__all__ = ["csrf_of", "key_of", "login", "login_form"]


def csrf_of(html: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def key_of(html: str) -> str:
    found = re.search(r'name="_key" value="([^"]+)"', html)
    assert found, "no idempotency key in the page"
    return found.group(1)


def login_form(client: httpx.Client, username: str, secret: str) -> httpx.Response:
    token = csrf_of(client.get("/hall/login").text)
    return client.post(
        "/hall/login", data={"_csrf": token, "username": username, "password": secret}
    )


def login(url: str, username: str) -> httpx.Client:
    """A signed-in client (cookies kept, redirects not followed)."""
    client = httpx.Client(base_url=url, follow_redirects=False, timeout=60.0)
    response = login_form(client, username, password(username))
    assert response.status_code == 303, response.text
    return client
