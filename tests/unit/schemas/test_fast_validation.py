"""The compiled validator decides validity; jsonschema explains refusals. They must agree.

``schemas/validation.py`` asks ``jsonschema_rs`` whether a document is valid and, only when it
is not, asks ``jsonschema`` what is wrong. A document the fast one passed is never shown to the
other, so a disagreement would let through what the contract refuses: these tests mutate valid
examples of every document type and every matter's form thousands of times (seeded, so a
failure repeats) and compare the two verdicts on each.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

import pytest

from fieldhall.schemas import validation
from fieldhall.schemas.catalog import catalog_versions, load_catalog
from fieldhall.schemas.documents import DOCUMENT_TYPES
from fieldhall.schemas.errors import SchemaInvalid
from fieldhall.schemas.validation import (
    _document_validator,
    _form_validator,
    build_validators,
    validate_document,
)

from .examples import form_example, signed

MUTANTS_PER_EXAMPLE = 400

# Values chosen to sit on the schemas' edges: formats (real and impossible dates, offsets),
# patterns, lengths, numeric bounds and types.
EDGE_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 2, 0.5, 1.0, -0.0, 1e300, 2**53, 2**63, -(2**63),
    "", " ", "x", "a" * 101, "a" * 501, "张", "1942-03-15", "1942-02-30", "2026-13-01",
    "2026-03-02T10:15:00+08:00", "2026-03-02T10:15:00Z", "2026-03-02T10:15:00.123456789Z",
    "2026-02-30T10:15:00Z", "2026-03-02t10:15:00z", "2026-03-02T24:00:00Z",
    "2026-03-02 10:15:00Z", "2026-03-02T10:15:00", "bob@example.com", "bob@example",
    "13604312345", "12345", "0431-88776655", "0" * 64, "f" * 63, "G" * 64,
    "case:01JN9A0B1C2D3E4F5G6H7J8K9M", "case:01jn9a0b1c2d3e4f5g6h7j8k9m",
    "220104194203151220", "22010419420315122X", "home_visit", "hospital", "image/png",
    [], [None], ["x"], {}, {"x": 1},
]  # fmt: skip


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _mutant(example: Any, rng: random.Random) -> Any:
    """``example`` with one to three random edits: a value replaced, a member removed or
    added, a list item dropped or repeated."""
    doc = copy.deepcopy(example)
    for _ in range(rng.randint(1, 3)):
        paths = list(_paths(doc))
        path = rng.choice(paths[1:]) if len(paths) > 1 else ()
        if not path:
            return rng.choice(EDGE_VALUES)
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        edit = rng.random()
        if edit < 0.6:
            parent[last] = copy.deepcopy(rng.choice(EDGE_VALUES))
        elif edit < 0.8:
            del parent[last]
        elif isinstance(parent, dict):
            parent[rng.choice(["extra", "note", "_x", str(last) + "2"])] = rng.choice(EDGE_VALUES)
        else:
            parent.append(copy.deepcopy(parent[last]))
    return doc


def _agree(validator: Any, instance: Any) -> tuple[bool, bool]:
    fast = validator.fast.is_valid(instance)
    full = not any(True for _ in validator.full.iter_errors(instance))
    return fast, full


@pytest.mark.parametrize("doc_type", DOCUMENT_TYPES)
def test_document_verdicts_agree(doc_type: str) -> None:
    validator = _document_validator(doc_type)
    example = signed(doc_type)
    assert _agree(validator, example) == (True, True)
    rng = random.Random(f"documents-{doc_type}")
    invalid = 0
    for number in range(MUTANTS_PER_EXAMPLE):
        mutant = _mutant(example, rng)
        fast, full = _agree(validator, mutant)
        assert fast == full, f"mutant {number} of {doc_type}: fast={fast}, jsonschema={full}"
        invalid += not full
    # The mutations reach the schema's rules: most mutants are invalid, some stay valid.
    assert MUTANTS_PER_EXAMPLE // 2 < invalid < MUTANTS_PER_EXAMPLE


@pytest.mark.parametrize("version", catalog_versions())
def test_form_verdicts_agree(version: str) -> None:
    catalog = load_catalog(version)
    checked = 0
    for matter in catalog.matters:
        try:
            example = form_example(matter.id, version)
        except KeyError:
            continue  # no example answers for this matter in the tests' data
        validator = _form_validator(matter)
        assert _agree(validator, example) == (True, True), matter.id
        rng = random.Random(f"forms-{version}-{matter.id}")
        for number in range(MUTANTS_PER_EXAMPLE // 4):
            fast, full = _agree(validator, _mutant(example, rng))
            assert fast == full, f"mutant {number} of {matter.id}: fast={fast}, jsonschema={full}"
        checked += 1
    assert checked >= 3


def test_a_refusal_still_names_the_member_and_rule() -> None:
    doc = signed("case")
    doc["created_at"] = "2026-02-30T10:15:00+08:00"
    with pytest.raises(SchemaInvalid) as refused:
        validate_document(doc)
    assert refused.value.pointer == "/created_at"
    assert "date-time" in refused.value.message


def test_an_integer_beyond_64_bits_is_refused_for_its_bound() -> None:
    doc = signed("case")
    doc["device_seq"] = 2**80
    doc["prev_hash"] = "0" * 64
    with pytest.raises(SchemaInvalid) as refused:
        validate_document(doc)
    assert refused.value.pointer == "/device_seq"


def test_building_the_validators_up_front_leaves_none_for_the_first_documents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A process that is to check documents (the door's workers) builds every validator once
    at start: every document type and every form of every catalog shipped."""
    monkeypatch.setattr(validation, "_FORM_VALIDATORS", {})
    _document_validator.cache_clear()
    forms = [m for v in catalog_versions() for m in load_catalog(v).matters]
    assert build_validators() == len(DOCUMENT_TYPES) + len(forms)

    def nothing_left_to_build(schema: object) -> None:
        raise AssertionError("a validator was built after the warm-up")

    monkeypatch.setattr(validation, "_validator", nothing_left_to_build)
    for matter in forms:
        _form_validator(matter)
    for doc_type in DOCUMENT_TYPES:
        _document_validator(doc_type)
