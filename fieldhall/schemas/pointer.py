"""RFC 6901 JSON pointers, the ``<pointer>`` of every error detail and of a sealed field's aad."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["json_pointer", "pointer_tokens"]


def json_pointer(tokens: Iterable[str | int]) -> str:
    """``["applicant", "id_number"]`` → ``/applicant/id_number`` (``~`` and ``/`` escaped)."""
    return "".join("/" + str(token).replace("~", "~0").replace("/", "~1") for token in tokens)


def pointer_tokens(pointer: str) -> list[str]:
    """The inverse of :func:`json_pointer`; ``""`` (the whole document) has no tokens."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"a JSON pointer starts with '/': {pointer!r}")
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]
