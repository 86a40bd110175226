"""Loading the catalog versions that ship with the package, checked before use.

Each version is one immutable file ``<version>.json`` next to this module (versions look like
``2026.1``: year, then the number of the publication within it). A case names the version it
was filed under and is judged against exactly that file, however many versions follow — so a
version file is never edited once published; a change is a new file. Every file is checked
at load against ``meta.schema.json`` and the rules below; a file that fails is a packaging bug
and raises :class:`~fieldhall.schemas.errors.CatalogInvalid`.

Rules beyond the meta-schema: the file name is its version; matter ids are unique, and step
and material ids unique within their matter; every department is in the catalog's
``departments`` registry, every step's departments are among its matter's, and every matter
department takes part in some step; a ``parallel`` step has at least two departments;
``promised_days`` ≤ ``legal_days``; only a required material can be deferrable (容缺); every
matter lists the ``consent_signature`` material; every form schema is a valid 2020-12 schema
in the portable subset (:func:`~fieldhall.schemas.catalog.portable.check_form_schema`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

from fieldhall.schemas.catalog.model import CONSENT_MATERIAL_ID, Catalog
from fieldhall.schemas.catalog.portable import check_form_schema
from fieldhall.schemas.errors import CatalogInvalid, UnknownCatalogVersion
from fieldhall.schemas.formats import FORMAT_CHECKER
from fieldhall.schemas.ijson import parse_ijson
from fieldhall.schemas.problems import problems_of

__all__ = [
    "catalog_versions",
    "check_catalog_document",
    "load_catalog",
    "load_catalog_document",
    "meta_schema",
]

_PACKAGE = "fieldhall.schemas.catalog"
_VERSION_FILE = re.compile(r"^([0-9]{4})\.([1-9][0-9]*)\.json$")


def catalog_versions() -> tuple[str, ...]:
    """The catalog versions that ship with the package, oldest first."""
    found = []
    for entry in resources.files(_PACKAGE).iterdir():
        match = _VERSION_FILE.match(entry.name)
        if match:
            found.append((int(match.group(1)), int(match.group(2))))
    return tuple(f"{year}.{number}" for year, number in sorted(found))


def load_catalog(version: str | None = None) -> Catalog:
    """The catalog of ``version`` (the latest when ``None``), checked; cached per version."""
    if version is None:
        versions = catalog_versions()
        if not versions:
            raise UnknownCatalogVersion("no catalog ships with this package")
        version = versions[-1]
    return _load(version)


def load_catalog_document(version: str | None = None) -> dict[str, Any]:
    """The catalog of ``version`` as its JSON document (what ``GET /api/v1/catalog`` serves)."""
    return load_catalog(version).as_json()


@functools.cache
def meta_schema() -> Mapping[str, Any]:
    """The catalog meta-schema (JSON Schema 2020-12); shared, never mutate."""
    text = resources.files(_PACKAGE).joinpath("meta.schema.json").read_bytes()
    schema: dict[str, Any] = parse_ijson(text)
    Draft202012Validator.check_schema(schema)
    return schema


@functools.cache
def _load(version: str) -> Catalog:
    if version not in catalog_versions():
        raise UnknownCatalogVersion(f"no catalog of version {version!r}")
    raw = resources.files(_PACKAGE).joinpath(f"{version}.json").read_bytes()
    document = parse_ijson(raw)
    check_catalog_document(document, expected_version=version)
    return Catalog.of(document)


def check_catalog_document(document: Any, *, expected_version: str | None = None) -> None:
    """Raise :class:`CatalogInvalid` unless ``document`` is a valid catalog version."""
    validator = Draft202012Validator(meta_schema(), format_checker=FORMAT_CHECKER)
    problems = problems_of(validator.iter_errors(document))
    if problems:
        (pointer, message), *_ = problems
        raise CatalogInvalid(message, pointer=pointer, problems=problems)
    if expected_version is not None and document["version"] != expected_version:
        raise CatalogInvalid(
            f"the file of version {expected_version} says {document['version']}",
            pointer="/version",
        )
    registry = document["departments"]
    _unique([m["id"] for m in document["matters"]], "/matters", "id", "matter")
    for index, matter in enumerate(document["matters"]):
        _check_matter(matter, f"/matters/{index}", registry)


def _check_matter(matter: Mapping[str, Any], where: str, registry: Mapping[str, Any]) -> None:
    departments = matter["departments"]
    for i, department in enumerate(departments):
        if department not in registry:
            raise CatalogInvalid(
                f"department {department!r} is not in the catalog's departments",
                pointer=f"{where}/departments/{i}",
            )
    _unique([s["id"] for s in matter["steps"]], f"{where}/steps", "id", "step")
    in_steps: set[str] = set()
    for i, step in enumerate(matter["steps"]):
        for j, department in enumerate(step["departments"]):
            if department not in departments:
                raise CatalogInvalid(
                    f"department {department!r} is not one of the matter's",
                    pointer=f"{where}/steps/{i}/departments/{j}",
                )
        if step["mode"] == "parallel" and len(step["departments"]) < 2:
            raise CatalogInvalid(
                "a parallel step has at least two departments", pointer=f"{where}/steps/{i}"
            )
        in_steps.update(step["departments"])
    for i, department in enumerate(departments):
        if department not in in_steps:
            raise CatalogInvalid(
                f"department {department!r} takes part in no step",
                pointer=f"{where}/departments/{i}",
            )

    limits = matter["limits"]
    if limits["promised_days"] > limits["legal_days"]:
        raise CatalogInvalid(
            "promised_days exceeds legal_days", pointer=f"{where}/limits/promised_days"
        )

    materials = matter["materials"]
    _unique([m["id"] for m in materials], f"{where}/materials", "id", "material")
    for i, material in enumerate(materials):
        if material["deferrable"] and not material["required"]:
            raise CatalogInvalid(
                "only a required material can be deferrable (容缺)",
                pointer=f"{where}/materials/{i}/deferrable",
            )
    consent = next((m for m in materials if m["id"] == CONSENT_MATERIAL_ID), None)
    if consent is None or not consent["required"] or consent["deferrable"]:
        raise CatalogInvalid(
            f"every matter lists {CONSENT_MATERIAL_ID!r}, required and not deferrable",
            pointer=f"{where}/materials",
        )

    check_form_schema(matter["form_schema"], where=f"{where}/form_schema")


def _unique(ids: list[str], where: str, key: str, what: str) -> None:
    seen: set[str] = set()
    for index, identifier in enumerate(ids):
        if identifier in seen:
            raise CatalogInvalid(
                f"duplicate {what} id {identifier!r}", pointer=f"{where}/{index}/{key}"
            )
        seen.add(identifier)
