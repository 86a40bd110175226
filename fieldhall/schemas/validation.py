"""Validating a document: its type's schema, then what a schema cannot say.

The order of the checks, and so the code a refused document gets:

1. ``type`` is one of the contract's document types — else ``unknown_type``;
2. the document matches its type's published schema — else ``schema_invalid``;
3. for a ``case``: the named catalog version exists (``unknown_catalog_version``), has the
   matter (``unknown_matter``), allows the case's ``channel``, knows every ``material_id``
   of the manifest, and ``form`` matches the matter's form schema — else ``schema_invalid``;
4. names that point into ``materials`` (a case's ``consent.attachment``, a delivery's
   ``recipient_signature``) name one of its entries, and entry names are unique.

Whether the materials are complete and of a type the catalog accepts is not checked here:
that is the hall's pre-review (预审), which produces one complete notice (一次性告知).
Signatures, device identity and the hash chain are checked by their own modules.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from fieldhall.schemas.catalog import Catalog, Matter, catalog_versions, load_catalog
from fieldhall.schemas.documents import DOCUMENT_TYPES, schema_of
from fieldhall.schemas.errors import (
    SchemaInvalid,
    UnknownCatalogVersion,
    UnknownMatter,
    UnknownType,
)
from fieldhall.schemas.formats import FORMAT_CHECKER, FORMAT_CHECKS
from fieldhall.schemas.pointer import pointer_tokens
from fieldhall.schemas.problems import problems_of

__all__ = ["build_validators", "validate_document", "validate_form"]

CatalogLoader = Callable[[str], Catalog]


def validate_document(doc: Any, *, catalogs: CatalogLoader = load_catalog) -> None:
    """Return if ``doc`` is a valid contract document; else raise the refusal.

    Raises :class:`UnknownType`, :class:`SchemaInvalid`, :class:`UnknownCatalogVersion` or
    :class:`UnknownMatter`, each with a JSON pointer and a message (``.detail``) and, for a
    schema violation, every problem found (``.problems``). ``catalogs`` loads a catalog by
    version (the packaged ones by default).
    """
    if not isinstance(doc, Mapping):
        raise SchemaInvalid("a document is a JSON object")
    doc_type = doc.get("type")
    schema = schema_of(doc_type) if isinstance(doc_type, str) else None
    if schema is None:
        raise UnknownType("not a document type of contract v1", pointer="/type")
    _document_validator(doc_type).check(doc, ())

    if doc_type == "case":
        matter = _matter_of(doc, catalogs)
        if doc["channel"] not in matter.channels:
            raise SchemaInvalid(
                f"matter {matter.id} may not be filed through this channel "
                f"(allowed: {', '.join(matter.channels)})",
                pointer="/channel",
            )
        for index, entry in enumerate(doc["materials"]):
            if matter.material(entry["material_id"]) is None:
                raise SchemaInvalid(
                    f"matter {matter.id} has no material of this id",
                    pointer=f"/materials/{index}/material_id",
                )
        validate_form(matter, doc["form"])

    if "materials" in doc:
        _check_material_names(doc)


def build_validators() -> int:
    """Build the validators of every document type and of every form of the catalogs that
    ship with the package, as the first documents would (a process that checks documents,
    warming up); how many."""
    built = [_document_validator(doc_type) for doc_type in DOCUMENT_TYPES]
    for version in catalog_versions():
        built += [_form_validator(matter) for matter in load_catalog(version).matters]
    return len(built)


def validate_form(matter: Matter, answers: Any, *, pointer: str = "/form") -> None:
    """Raise :class:`SchemaInvalid` unless ``answers`` match ``matter``'s form schema.

    Pointers in the error are prefixed with ``pointer`` (where the form sits in its document).
    """
    _form_validator(matter).check(answers, pointer_tokens(pointer))


def _matter_of(doc: Mapping[str, Any], catalogs: CatalogLoader) -> Matter:
    version = doc["matter"]["catalog_version"]
    try:
        catalog = catalogs(version)
    except UnknownCatalogVersion as exc:
        raise UnknownCatalogVersion(exc.message, pointer="/matter/catalog_version") from exc
    try:
        return catalog.matter(doc["matter"]["id"])
    except UnknownMatter as exc:
        raise UnknownMatter(exc.message, pointer="/matter/id") from exc


def _check_material_names(doc: Mapping[str, Any]) -> None:
    names: set[str] = set()
    for index, entry in enumerate(doc["materials"]):
        if entry["name"] in names:
            raise SchemaInvalid(
                "another materials entry has this name", pointer=f"/materials/{index}/name"
            )
        names.add(entry["name"])
    references = []
    if doc["type"] == "case":
        references.append(("/consent/attachment", doc["consent"]["attachment"]))
    if doc["type"] == "delivery" and doc.get("recipient_signature") is not None:
        references.append(("/recipient_signature", doc["recipient_signature"]))
    for pointer, name in references:
        if name not in names:
            raise SchemaInvalid("names no entry of materials", pointer=pointer)


def _raise_problems(errors: Iterable[ValidationError], prefix: Sequence[str]) -> None:
    problems = problems_of(errors, prefix)
    if problems:
        (pointer, message), *_ = problems
        raise SchemaInvalid(message, pointer=pointer, problems=problems)


@dataclass(frozen=True, slots=True)
class _Validator:
    """One schema, two validators: the compiled ``jsonschema_rs`` one decides whether a
    document is valid, the common case, about fifty times faster than ``jsonschema``, which
    then finds what is wrong with an invalid one (its errors carry the paths and keywords
    the refusal's pointer and messages are made from). Both get the same format checks;
    ``tests/unit/schemas/test_fast_validation.py`` holds them to the same verdicts."""

    fast: jsonschema_rs.Validator
    full: Draft202012Validator

    def check(self, instance: Any, prefix: Sequence[str]) -> None:
        try:
            if self.fast.is_valid(instance):
                return
        except (ValueError, TypeError, OverflowError):
            pass  # a value it cannot take (an integer beyond 64 bits): jsonschema decides
        # Should the two ever disagree, jsonschema's finding no problem lets it through:
        # the published semantics are jsonschema's.
        _raise_problems(self.full.iter_errors(instance), prefix)


@functools.cache
def _document_validator(doc_type: str) -> _Validator:
    schema = schema_of(doc_type)
    assert schema is not None
    return _validator(schema)


def _validator(schema: Mapping[str, Any]) -> _Validator:
    # Resolving a $ref costs jsonschema more than the check it leads to (``referencing`` looks
    # the pointer up on every visit), so it runs on a copy with the local references already
    # substituted; the published schemas keep their $defs.
    return _Validator(
        fast=jsonschema_rs.Draft202012Validator(
            dict(schema), formats=dict(FORMAT_CHECKS), validate_formats=True
        ),
        full=Draft202012Validator(
            _inline(schema, schema.get("$defs", {})), format_checker=FORMAT_CHECKER
        ),
    )


def _inline(node: Any, definitions: Mapping[str, Any]) -> Any:
    """``node`` with each ``{"$ref": "#/$defs/x", …}`` replaced by definition ``x``.

    Schemas here are shallow and their definitions not recursive, so plain recursion is safe.
    """
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    if not isinstance(node, Mapping):
        return node
    inlined = {key: _inline(value, definitions) for key, value in node.items() if key != "$defs"}
    reference = inlined.pop("$ref", None)
    if reference is None:
        return inlined
    target = _inline(definitions[reference.removeprefix("#/$defs/")], definitions)
    if not inlined:
        return target
    # $ref is an applicator beside its siblings (2020-12), exactly like a one-item allOf.
    inlined["allOf"] = [*inlined.get("allOf", []), target]
    return inlined


# Form validators by form schema: catalogs are loaded once and kept, so their schemas live as
# long as the process; the schema is kept beside its validator so its id is never reused.
_FORM_VALIDATORS: dict[int, tuple[Mapping[str, Any], _Validator]] = {}


def _form_validator(matter: Matter) -> _Validator:
    cached = _FORM_VALIDATORS.get(id(matter.form_schema))
    if cached is None or cached[0] is not matter.form_schema:
        cached = (matter.form_schema, _validator(matter.form_schema))
        _FORM_VALIDATORS[id(matter.form_schema)] = cached
    return cached[1]
