"""Signed bytes: the RFC 8785 (JCS) canonical JSON a signature and the device chain cover.

ARCHITECTURE, "Signed documents": the signed bytes of a document are the JCS of the document
without the members CouchDB owns or rewrites in transit (``_rev``, ``_revisions``,
``_attachments``, ``_conflicts``, ``_deleted_conflicts``) and without ``signature.sig``.
``_id`` is signed, so a signature cannot be moved to another document; attachments are bound
through the signed ``materials`` manifest (sha256 and length of every file) instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import rfc8785

from fieldhall.schemas.errors import IJsonError
from fieldhall.schemas.ijson import check_ijson

__all__ = ["UNSIGNED_MEMBERS", "canonical_bytes", "orjson_writes_jcs", "signable", "signed_bytes"]

_MAX_SAFE_INT = 2**53 - 1  # I-JSON: larger integers are not exact in JSON
_MAX_WALK = 1_000_000  # values that are not strings

UNSIGNED_MEMBERS = frozenset(
    {"_rev", "_revisions", "_attachments", "_conflicts", "_deleted_conflicts"}
)


def signable(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document as it is signed: a shallow copy without the unsigned members."""
    body = {key: value for key, value in doc.items() if key not in UNSIGNED_MEMBERS}
    signature = body.get("signature")
    if isinstance(signature, Mapping):
        body["signature"] = {key: value for key, value in signature.items() if key != "sig"}
    return body


def signed_bytes(doc: Mapping[str, Any]) -> bytes:
    """RFC 8785 bytes of :func:`signable` ``(doc)``; :class:`IJsonError` if not I-JSON."""
    body = signable(doc)
    try:
        return canonical_bytes(body)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError, RecursionError) as exc:
        # Walk the document only now, to say where it is not I-JSON.
        check_ijson(body)
        raise IJsonError(f"cannot be canonicalized: {exc}") from exc


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 bytes of ``value``: orjson's sorted output where it is the same
    (:func:`orjson_writes_jcs`), rfc8785's otherwise.

    rfc8785 is pure Python: a 2 KB case takes it about 0.4 ms, most of the door's signature
    check; orjson writes the same bytes in a hundredth of that. Where they could differ, the
    maintained package decides (and refuses what is not I-JSON); tests/unit/schemas/
    test_canonical.py holds the two equal on generated values."""
    if orjson_writes_jcs(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # lone surrogates, deep nesting: rfc8785 says what is wrong
    return rfc8785.dumps(value)


def orjson_writes_jcs(value: Any, *, floats: bool = True) -> bool:
    """Whether orjson's output with sorted keys is the RFC 8785 form of ``value``.

    Strings are escaped alike (``"``, ``\\``, control characters as ``\\b \\t \\n \\f
    \\r`` or ``\\u00xx``, everything else literally: compared for every code point); keys
    sort alike within the Basic Multilingual Plane (JCS sorts by UTF-16 code units, orjson by
    code points); integers within I-JSON's safe range are written alike; a float only when
    rfc8785 writes it as orjson does (not ``1.0``, which JCS writes ``1``, nor most exponents);
    ``floats=False`` refuses every float. Exact dicts, lists and tuples only."""
    # A walk with a stack of its own that skips strings without a call, as most values of a
    # signed document are; nesting is rfc8785's to judge, and so is a value that contains
    # itself (the walk gives up on it after _MAX_WALK values).
    stack = [value]
    pop, push = stack.pop, stack.append
    for _ in range(_MAX_WALK):
        if not stack:
            return True
        item = pop()
        kind = type(item)
        if kind is dict:
            for key, member in item.items():
                if type(key) is not str or not (key.isascii() or max(key, default="") <= "\uffff"):
                    return False
                if type(member) is not str:
                    push(member)
        elif kind is list or kind is tuple:
            for member in item:
                if type(member) is not str:
                    push(member)
        elif kind is str or kind is bool or item is None:
            continue
        elif kind is int:
            if not -_MAX_SAFE_INT <= item <= _MAX_SAFE_INT:
                return False
        elif kind is not float or not (floats and _float_alike(item)):
            return False
    return False


def _float_alike(value: float) -> bool:
    try:
        return orjson.dumps(value) == rfc8785.dumps(value)
    except (orjson.JSONEncodeError, rfc8785.CanonicalizationError):
        return False  # NaN, infinities: rfc8785 refuses them in its turn
