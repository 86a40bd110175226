"""I-JSON (RFC 7493) at the door: each violation refused with where it is."""

from __future__ import annotations

import pytest

from fieldhall.schemas import parse_ijson
from fieldhall.schemas.errors import IJsonError
from fieldhall.schemas.ijson import MAX_SAFE_INTEGER, check_ijson


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
