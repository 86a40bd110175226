"""A peer database: its URL, without credentials, and how to authenticate to it.

Credentials may come in the URL (``http://user:pass@host/db``, percent-encoded) or separately;
separate ones win. They never appear in messages, logs, ``repr`` or the replication id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = ["Endpoint", "parse_credentials"]

_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A database of a CouchDB-protocol peer."""

    url: str  # scheme://host[:port]/path-to-db, no credentials, no trailing slash
    auth: tuple[str, str] | None = field(default=None, repr=False)
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @classmethod
    def parse(
        cls,
        url: str,
        auth: tuple[str, str] | str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Endpoint:
        """An endpoint from a database URL; ``auth`` is ``(user, password)`` or ``"user:pass"``.

        Raises :class:`ValueError` (with a one-line message) for anything but an absolute
        http(s) URL naming a database.
        """
        parts = urlsplit(url.strip())
        if parts.scheme.lower() not in _SCHEMES or not parts.hostname:
            raise ValueError(f"not an http(s) database URL: {_redact(url)}")
        path = parts.path.rstrip("/")
        if not path:
            raise ValueError(f"the URL names no database: {_redact(url)}")
        if parts.query or parts.fragment:
            raise ValueError(f"a database URL has no query or fragment: {_redact(url)}")
        credentials = parse_credentials(auth) if isinstance(auth, str) else auth
        if credentials is None and parts.username is not None:
            credentials = (unquote(parts.username), unquote(parts.password or ""))
        host = parts.hostname
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        clean = urlunsplit((parts.scheme.lower(), netloc, path, "", ""))
        return cls(clean, credentials, tuple(sorted((headers or {}).items())))

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or _DEFAULT_PORTS[parts.scheme]

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def server_url(self) -> str:
        """The server root: the URL with its last path segment (the database) removed."""
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc, parts.path.rsplit("/", 1)[0] + "/", "", ""))

    @property
    def username(self) -> str | None:
        return self.auth[0] if self.auth else None

    def __str__(self) -> str:
        return self.url


def parse_credentials(value: str) -> tuple[str, str]:
    """``"user:password"`` (the password may contain ``:``)."""
    user, sep, password = value.partition(":")
    if not sep or not user:
        raise ValueError("credentials must be USER:PASSWORD")
    return user, password


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
