"""Signed bytes are RFC 8785 (JCS) of the document without the unsigned members."""

from __future__ import annotations

import json
import random
import struct
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldhall.schemas import parse_ijson, signed_bytes
from fieldhall.schemas.canonical import UNSIGNED_MEMBERS, canonical_bytes, orjson_writes_jcs
from fieldhall.schemas.errors import IJsonError

from .examples import signed

# RFC 8785 §3.2.2/§3.2.3: the sample input and its canonical form.
RFC_INPUT = rb"""{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}"""
RFC_OUTPUT = (
    r'{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    r'"string":"€$\u000f\nA' + "'" + r'B\"\\\\\"/"}'
)
# RFC 8785 §3.2.4: the UTF-8 bytes of that output.
RFC_HEX = """
7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d
"""


def _jcs(value: object) -> bytes:
    return signed_bytes({"v": value})[len(b'{"v":') : -1]


def test_the_rfc_8785_sample() -> None:
    document = parse_ijson(RFC_INPUT)
    assert signed_bytes(document) == RFC_OUTPUT.encode("utf-8")
    assert signed_bytes(document) == bytes.fromhex(RFC_HEX)


def test_the_rfc_8785_sorting_sample_orders_keys_by_utf16_code_units() -> None:
    document = parse_ijson(
        rb"""{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"""
    )
    keys = list(json.loads(signed_bytes(document)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        (1e21, b"1e+21"),
        (1e20, b"100000000000000000000"),
        (0.000001, b"0.000001"),
        (1e-7, b"1e-7"),
        (-0.0, b"0"),
        (4.0, b"4"),
        (9007199254740991, b"9007199254740991"),
        ("\u2028", '"\u2028"'.encode()),
        ("\x1f", b'"\\u001f"'),
    ],
)
def test_rfc_8785_number_and_string_forms(value: object, canonical: bytes) -> None:
    assert _jcs(value) == canonical


def test_the_unsigned_members_and_sig_are_left_out_and_everything_else_is_in() -> None:
    doc = signed("case")
    bare = signed_bytes(doc)
    with_couch = dict(
        doc,
        _rev="2-abc",
        _revisions={"start": 2, "ids": ["abc", "def"]},
        _attachments={"consent.png": {"stub": True, "digest": "md5-x"}},
        _conflicts=["2-xyz"],
        _deleted_conflicts=["2-uvw"],
    )
    assert signed_bytes(with_couch) == bare
    assert signed_bytes(dict(doc, signature=dict(doc["signature"], sig="other"))) == bare
    assert {
        "_rev",
        "_revisions",
        "_attachments",
        "_conflicts",
        "_deleted_conflicts",
    } == UNSIGNED_MEMBERS
    body = json.loads(bare)
    assert body["_id"] == doc["_id"]
    assert body["signature"] == {k: v for k, v in doc["signature"].items() if k != "sig"}
    assert signed_bytes(dict(doc, _deleted=True)) != bare


def test_signed_bytes_do_not_change_the_document() -> None:
    doc = signed("case")
    before = json.dumps(doc, sort_keys=True)
    signed_bytes(dict(doc, _rev="1-a"))
    assert json.dumps(doc, sort_keys=True) == before


def test_member_order_does_not_matter() -> None:
    doc = signed("case")
    assert signed_bytes(dict(reversed(list(doc.items())))) == signed_bytes(doc)


def test_values_that_are_not_ijson_have_no_signed_bytes() -> None:
    for bad, pointer in (
        ({"n": 2**53}, "/n"),
        ({"x": [float("nan")]}, "/x/0"),
        ({"s": "\ud800"}, "/s"),
        ({"b": b"bytes"}, "/b"),
        ({1: "one"}, ""),
    ):
        with pytest.raises(IJsonError) as refused:
            signed_bytes(bad)  # type: ignore[arg-type]
        assert refused.value.pointer == pointer


# -- the fast path: orjson's bytes where they are RFC 8785's ---------------------------------

any_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(-1000, 1000).map(lambda x: round(x, 4))  # coordinates, amounts
    | st.text(),  # lone surrogates too
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(), inner, max_size=5)
        | st.dictionaries(st.text(st.characters(codec="utf-8"), max_size=3), inner, max_size=5)
    ),
    max_leaves=16,
)


@settings(max_examples=1000, deadline=None)
@given(value=any_values)
def test_the_fast_canonical_form_is_rfc8785s_or_refused_alike(value: Any) -> None:
    """orjson writes what rfc8785 writes, or the value goes to rfc8785 (keys beyond the BMP
    sort differently, many floats are written differently, big integers are not I-JSON)."""
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):
        with pytest.raises((rfc8785.CanonicalizationError, UnicodeEncodeError)):
            canonical_bytes(value)
        return
    assert canonical_bytes(value) == expected


def test_keys_beyond_the_bmp_sort_by_utf16_code_units() -> None:
    value = {"\U0001f600": 1, "\uff61": 2}  # 😀 (surrogates D83D DE00) before ｡ (FF61)
    assert not orjson_writes_jcs(value)
    assert canonical_bytes(value) == rfc8785.dumps(value) == '{"😀":1,"｡":2}'.encode()


@pytest.mark.parametrize(
    ("number", "fast"),
    [(43.8626, True), (-0.5, True), (12.5, True), (1.0, False), (-0.0, False), (1e20, False),
     (1e21, True), (1e-7, True), (2**53 - 1, True), (2**53, False)],
)  # fmt: skip
def test_numbers_take_the_fast_path_only_when_written_alike(number: float, fast: bool) -> None:
    assert orjson_writes_jcs({"n": number}) is fast
    if abs(number) < 2**53:
        assert canonical_bytes({"n": number}) == rfc8785.dumps({"n": number})


def test_floats_of_every_magnitude_are_written_as_rfc8785_writes_them() -> None:
    # Bit patterns spread over the whole double range, seeded: a failure repeats.
    rng = random.Random(8785)
    for _ in range(20_000):
        (number,) = struct.unpack("<d", rng.randbytes(8))
        if number != number or number in (float("inf"), float("-inf")):
            continue
        assert canonical_bytes([number]) == rfc8785.dumps([number]), number


def test_every_code_point_is_escaped_as_rfc8785_escapes_it() -> None:
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert orjson_writes_jcs({"s": text})
    assert canonical_bytes({"s": text}) == rfc8785.dumps({"s": text})


def test_a_case_takes_the_fast_path() -> None:
    assert orjson_writes_jcs(signed("case"))


def test_a_value_that_contains_itself_or_nests_deeply_goes_to_rfc8785() -> None:
    looped: dict[str, Any] = {"case": "c1"}
    looped["self"] = [looped]
    assert not orjson_writes_jcs(looped)
    with pytest.raises(RecursionError):
        canonical_bytes(looped)
    deep: Any = "leaf"
    for _ in range(300):  # deeper than orjson writes (255)
        deep = {"in": [deep]}
    assert orjson_writes_jcs(deep)
    assert canonical_bytes(deep) == rfc8785.dumps(deep)
