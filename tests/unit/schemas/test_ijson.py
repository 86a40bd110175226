"""I-JSON (RFC 7493) at the door: each violation refused with where it is."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldhall.schemas import parse_ijson
from fieldhall.schemas.errors import IJsonError
from fieldhall.schemas.ijson import (
    MAX_SAFE_INTEGER,
    _fast_parse,
    _NotIJson,
    _walked_parse,
    check_ijson,
)


def _refusal(raw: bytes) -> IJsonError:
    with pytest.raises(IJsonError) as refused:
        parse_ijson(raw)
    assert refused.value.code == "invalid_json"
    return refused.value


def test_a_document_parses_to_plain_values() -> None:
    value = parse_ijson('{"a": [1, 2.5, "长春", null, true], "b": {"c": {}}}'.encode())
    assert value == {"a": [1, 2.5, "长春", None, True], "b": {"c": {}}}
    assert type(value["b"]) is dict


def test_duplicate_keys_are_refused_with_the_member_pointer() -> None:
    refused = _refusal(b'{"applicant": {"name": "a", "name": "b"}}')
    assert refused.pointer == "/applicant/name"
    assert refused.message == "duplicate key"
    assert _refusal(b'{"a": 1, "a": 1}').pointer == "/a"
    assert _refusal(b'[{"x": 1}, {"y/~": 1, "y/~": 2}]').pointer == "/1/y~1~0"


def test_lone_surrogates_are_refused_in_values_and_keys() -> None:
    refused = _refusal(b'{"applicant": {"name": "\\ud800x"}}')
    assert refused.pointer == "/applicant/name"
    assert "U+D800" in refused.message
    assert _refusal(b'{"\\udfff": 1}').pointer == "/\udfff"
    assert _refusal(b'["ok", "\\udc00"]').pointer == "/1"
    # A surrogate pair is one character, not a lone surrogate.
    assert parse_ijson(b'"\\ud83d\\ude00"') == "\U0001f600"


def test_integers_beyond_two_to_the_53_are_refused() -> None:
    assert parse_ijson(str(MAX_SAFE_INTEGER).encode()) == 2**53 - 1
    assert parse_ijson(str(-MAX_SAFE_INTEGER).encode()) == -(2**53) + 1
    for big in (2**53, -(2**53), 2**64, 12345678901234567890):
        refused = _refusal(f'{{"device_seq": {big}}}'.encode())
        assert refused.pointer == "/device_seq"
        assert "2**53" in refused.message
    # A float is a double already: no precision is silently lost by parsing it.
    assert parse_ijson(b"9007199254740993.0") == 9007199254740992.0


def test_non_finite_numbers_are_refused() -> None:
    assert _refusal(b'{"x": NaN}').message == "NaN is not a JSON number"
    assert "Infinity" in _refusal(b"[-Infinity]").message
    assert _refusal(b'{"lat": 1e400}').pointer == "/lat"


def test_bytes_that_are_not_utf8_json_are_refused() -> None:
    assert "UTF-8" in _refusal(b'{"name": "\xff"}').message
    assert "UTF-8" in _refusal(b'"\xed\xa0\x80"').message  # a surrogate encoded as UTF-8
    assert "byte order mark" in _refusal(b'\xef\xbb\xbf{"a": 1}').message
    assert "line 1 column 9" in _refusal(b'{"a": 1,}').message
    assert "invalid JSON" in _refusal(b'{"a": "\x01"}').message
    assert "nested too deeply" in _refusal(b"[" * 100_000 + b"]" * 100_000).message


def test_deep_documents_within_the_parser_limit_are_walked_without_recursion() -> None:
    depth = 900
    value = parse_ijson(b'{"a":' * depth + b"1" + b"}" * depth)
    for _ in range(depth):
        value = value["a"]
    assert value == 1
    nested: object = 1
    for _ in range(5000):
        nested = [nested]
    check_ijson(nested)


def test_in_memory_values_are_checked_the_same_way() -> None:
    check_ijson({"a": [1, 2.0, "x", None, False, {"b": ()}]})
    for bad, pointer in (
        ({"a": {"b": 2**60}}, "/a/b"),
        ({"a": float("inf")}, "/a"),
        ({"a": {1, 2}}, "/a"),
        ({("k",): 1}, ""),
    ):
        with pytest.raises(IJsonError) as refused:
            check_ijson(bad)
        assert refused.value.pointer == pointer


# -- the fast parse and the member-by-member walk agree ----------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=12,
)
json_texts = st.tuples(json_values, st.booleans()).map(
    lambda pair: json.dumps(pair[0], ensure_ascii=pair[1])
)


def _tampered(text: str, choice: int) -> str:
    """``text`` with an I-JSON violation spliced in, or as it is."""
    if choice == 0 and text.startswith("{") and text != "{}":
        return '{"dup": 1, "dup": 2, ' + text[1:]
    if choice == 1:
        return text.replace('"', '"\\ud800', 1)
    if choice == 2:
        return f"[{text}, 9007199254740993]"
    if choice == 3:
        return f"[{text}, 1e400]"
    if choice == 4:
        return "[" * 300 + text + "]" * 300  # beyond orjson's depth: the walk takes it
    return text


def _outcome(parse: Any, text: str) -> tuple[str, Any]:
    try:
        return "value", parse(text)
    except IJsonError as exc:
        return "refused", exc.detail


@settings(max_examples=400, deadline=None)
@given(text=json_texts, choice=st.integers(0, 6))
def test_the_fast_parse_accepts_exactly_what_the_walk_accepts(text: str, choice: int) -> None:
    text = _tampered(text, choice)
    walked = _outcome(_walked_parse, text)
    try:
        fast = ("value", _fast_parse(text))
    except _NotIJson:
        assert walked[0] == "refused" or choice == 4, (text, walked)
        return
    assert walked == fast, text
    assert parse_ijson(text.encode()) == fast[1]
