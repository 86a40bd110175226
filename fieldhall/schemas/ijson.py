"""I-JSON (RFC 7493): the only JSON the contract accepts.

A signature covers canonical bytes (RFC 8785), and canonicalisation is only well defined on
I-JSON: with duplicate keys two parsers may keep different members, a lone surrogate has no
UTF-8 form, and an integer beyond ±(2**53 - 1) is rounded by every JavaScript client. So the
door refuses all three (and invalid UTF-8, a byte order mark, NaN/Infinity and numbers that
overflow a double) with a 400, naming the JSON pointer of the offending member.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

from fieldhall.schemas.errors import IJsonError
from fieldhall.schemas.pointer import json_pointer

__all__ = ["MAX_SAFE_INTEGER", "check_ijson", "parse_ijson"]

# RFC 7493 §2.2: integers must lie in [-(2**53)+1, (2**53)-1] to be exact in a double.
MAX_SAFE_INTEGER = 2**53 - 1


class _Pairs(list[tuple[str, Any]]):
    """An object as parsed, before duplicate keys are ruled out (``object_pairs_hook``)."""


def _refuse_constant(name: str) -> Any:
    raise IJsonError(f"{name} is not a JSON number")


class _NotIJson(Exception):
    """Raised by the fast parse's hooks: the checked parse then says what and where."""


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise _NotIJson
    return members


def _safe_int(text: str) -> int:
    value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise _NotIJson
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotIJson
    return value


def _fast_parse(text: str) -> Any:
    """The plain value of ``text`` when it is I-JSON, checked by the parser's hooks (in C but
    for one call per object and number) and orjson (which refuses lone surrogates), without the
    member-by-member walk; :class:`_NotIJson` when anything is wrong."""
    try:
        tree = json.loads(
            text,
            object_pairs_hook=_unique_members,
            parse_int=_safe_int,
            parse_float=_finite_float,
            parse_constant=_refuse_constant,
        )
        orjson.dumps(tree)
    except (ValueError, TypeError, IJsonError, RecursionError, orjson.JSONEncodeError) as exc:
        raise _NotIJson from exc
    return tree


def parse_ijson(raw: bytes | bytearray | memoryview) -> Any:
    """Parse ``raw`` as I-JSON, or raise :class:`IJsonError` naming where it is not."""
    data = bytes(raw)
    if data.startswith(b"\xef\xbb\xbf"):
        raise IJsonError("a byte order mark is not allowed")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IJsonError(f"invalid UTF-8 at byte {exc.start}") from exc
    try:
        return _fast_parse(text)
    except _NotIJson:
        return _walked_parse(text)  # again, member by member, to say what and where


def _walked_parse(text: str) -> Any:
    try:
        tree = json.loads(text, object_pairs_hook=_Pairs, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise IJsonError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise IJsonError("JSON nested too deeply") from exc
    return _walk(tree, parsed=True)


def check_ijson(value: Any) -> None:
    """Raise :class:`IJsonError` unless ``value`` is I-JSON: dicts with string keys, lists
    (or tuples), strings without lone surrogates, safe integers, finite floats, booleans and
    ``None`` — the types ``rfc8785`` canonicalizes."""
    _walk(value, parsed=False)


def _walk(root: Any, *, parsed: bool) -> Any:
    """Check every member, with an explicit stack (documents may nest deeply).

    With ``parsed`` the tree comes from :func:`parse_ijson` and objects are still ``_Pairs``;
    the walk builds the plain value. Otherwise it checks ``root`` and returns it unchanged.
    Members are visited in document order, so the problem reported is the first one.
    """
    holder: list[Any] = [None]
    stack: list[tuple[Any, tuple[str | int, ...], Any, Any]] = [(root, (), holder, 0)]
    while stack:
        node, path, parent, slot = stack.pop()
        if isinstance(node, _Pairs) or (not parsed and isinstance(node, dict)):
            items = list(node) if isinstance(node, _Pairs) else list(node.items())
            built: dict[str, Any] = {}
            children = []
            for key, value in items:
                if not isinstance(key, str):
                    raise IJsonError(
                        f"object key of type {type(key).__name__}", pointer=json_pointer(path)
                    )
                member = (*path, key)
                _check_string(key, member)
                if key in built:
                    raise IJsonError("duplicate key", pointer=json_pointer(member))
                built[key] = None
                children.append((value, member, built, key))
            stack.extend(reversed(children))
            if parsed:
                parent[slot] = built
        elif isinstance(node, list | tuple):
            array: list[Any] = [None] * len(node)
            stack.extend(
                (value, (*path, index), array, index)
                for index, value in reversed(list(enumerate(node)))
            )
            if parsed:
                parent[slot] = array
        else:
            _check_scalar(node, path)
            if parsed:
                parent[slot] = node
    return holder[0] if parsed else root


def _check_string(text: str, path: tuple[str | int, ...]) -> None:
    for char in text:
        if "\ud800" <= char <= "\udfff":
            raise IJsonError(
                f"lone surrogate U+{ord(char):04X} in a string", pointer=json_pointer(path)
            )


def _check_scalar(value: Any, path: tuple[str | int, ...]) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        _check_string(value, path)
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise IJsonError(
                "integer beyond ±(2**53 - 1) cannot be represented exactly",
                pointer=json_pointer(path),
            )
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise IJsonError("number is not a finite double", pointer=json_pointer(path))
    else:
        raise IJsonError(
            f"a {type(value).__name__} is not a JSON value", pointer=json_pointer(path)
        )
