"""The packaged catalog: versions, the meta-schema, the rules, the portable form subset."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from fieldhall.schemas import catalog_versions, load_catalog
from fieldhall.schemas.catalog import (
    CHANNELS,
    CONSENT_MATERIAL_ID,
    DELIVERY_METHODS,
    check_catalog_document,
    check_form_schema,
    load_catalog_document,
    meta_schema,
)
from fieldhall.schemas.errors import CatalogInvalid, UnknownCatalogVersion, UnknownMatter

from .examples import CATALOG, OLD_CATALOG

# The hall's high-frequency list and the matters of the seed articles.
EXPECTED_MATTERS = {
    "senior_citizen_card",  # 老年人优待证 — Changchun, the grid agent's half-day delivery
    "real_estate_registration",  # 不动产登记 — Dazhou, filed from a hospital ward
    "housing_fund_withdrawal",
    "social_security_card",
    "resident_medical_insurance",
    "enterprise_establishment",
    "enterprise_change",
    "enterprise_deregistration",
    "senior_bus_card",
    "gas_account_opening",
    "old_age_allowance",
    "disability_certificate",
    "temporary_assistance",
}


def test_versions_ship_oldest_first_and_the_latest_is_the_default() -> None:
    assert catalog_versions() == (OLD_CATALOG, CATALOG)
    assert load_catalog().version == CATALOG
    assert load_catalog(OLD_CATALOG).version == OLD_CATALOG


def test_an_unknown_version_or_matter_is_refused_with_its_code() -> None:
    with pytest.raises(UnknownCatalogVersion) as version:
        load_catalog("2019.1")
    assert version.value.code == "unknown_catalog_version"
    with pytest.raises(UnknownMatter) as matter:
        load_catalog().matter("dog_licence")
    assert matter.value.code == "unknown_matter"


def test_the_latest_catalog_has_every_expected_matter_with_every_part() -> None:
    catalog = load_catalog()
    assert {m.id for m in catalog.matters} >= EXPECTED_MATTERS
    assert len(catalog.matters) >= 12
    for matter in catalog.matters:
        assert matter.name.zh and matter.name.en
        assert set(matter.departments) <= set(catalog.departments)
        assert matter.steps and set(matter.channels) <= set(CHANNELS)
        assert set(matter.delivery) <= set(DELIVERY_METHODS)
        assert matter.form_schema["type"] == "object"
        assert 0 <= matter.limits.promised_days <= matter.limits.legal_days
        assert matter.material(CONSENT_MATERIAL_ID) is not None
        assert any(m.required for m in matter.materials if m.id != CONSENT_MATERIAL_ID)
        assert isinstance(matter.cross_region, bool)


def test_the_catalog_shows_parallel_approval_deferrable_materials_and_cross_region() -> None:
    matters = load_catalog().matters
    parallel = [m.id for m in matters if any(s.mode == "parallel" for s in m.steps)]
    assert {"real_estate_registration", "enterprise_establishment"} <= set(parallel)
    assert all(len(s.departments) >= 2 for m in matters for s in m.steps if s.mode == "parallel")
    assert any(m.deferrable for matter in matters for m in matter.materials)
    assert {m.cross_region for m in matters} == {True, False}
    assert {c for m in matters for c in m.channels} == set(CHANNELS)


def test_departments_have_names_in_both_languages() -> None:
    catalog = load_catalog()
    assert catalog.departments["civil_affairs"].zh == "民政局"
    assert all(n.zh and n.en for n in catalog.departments.values())


def test_the_older_version_differs_and_each_case_is_judged_by_its_own() -> None:
    old, new = load_catalog(OLD_CATALOG), load_catalog(CATALOG)
    old_card, new_card = old.matter("senior_citizen_card"), new.matter("senior_citizen_card")
    # 2026.1 cut materials (as Hanbin cut 62) and shortened the promised time.
    assert old_card.material("hukou_booklet") is not None
    assert new_card.material("hukou_booklet") is None
    required_old = sum(m.required for m in old_card.materials)
    required_new = sum(m.required for m in new_card.materials)
    assert required_old > required_new
    assert new_card.limits.promised_days < old_card.limits.promised_days
    assert "hukou_address" in old_card.form_schema["required"]
    assert "hukou_address" not in new_card.form_schema["properties"]
    # A matter added later is unknown to the older version.
    assert new.matter("gas_account_opening")
    with pytest.raises(UnknownMatter):
        old.matter("gas_account_opening")


def test_a_matter_version_names_one_content_in_every_catalog() -> None:
    seen: dict[tuple[str, str], Any] = {}
    for version in catalog_versions():
        for matter in load_catalog_document(version)["matters"]:
            key = (matter["id"], matter["version"])
            assert seen.setdefault(key, matter) == matter, f"{key} changed without a new version"
    changed = {mid for (mid, mversion) in seen if mversion != "1"}
    assert "senior_citizen_card" in changed


def test_files_are_named_after_their_version_and_pass_the_meta_schema() -> None:
    Draft202012Validator.check_schema(meta_schema())
    folder = resources.files("fieldhall.schemas.catalog")
    for version in catalog_versions():
        document = json.loads(folder.joinpath(f"{version}.json").read_text("utf-8"))
        assert document["version"] == version
        check_catalog_document(document, expected_version=version)
        assert load_catalog_document(version) == document


def test_as_json_is_a_fresh_copy() -> None:
    document = load_catalog_document()
    document["matters"].clear()
    assert load_catalog_document()["matters"]


def _broken(change: Any) -> dict[str, Any]:
    document = copy.deepcopy(load_catalog_document())
    change(document)
    return document


def _first(document: dict[str, Any]) -> dict[str, Any]:
    matter: dict[str, Any] = document["matters"][1]  # real_estate_registration
    return matter


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda d: d.pop("published_at"), "/published_at"),
        (lambda d: _first(d).update(limits={"legal_days": 5}), "/matters/1/limits/promised_days"),
        (lambda d: _first(d).update(channels=["street"]), "/matters/1/channels/0"),
        (lambda d: _first(d).update(extra=1), "/matters/1/extra"),
        (lambda d: _first(d)["materials"][0].pop("max_count"), "/matters/1/materials/0/max_count"),
        (
            lambda d: _first(d)["limits"].update(promised_days=40),
            "/matters/1/limits/promised_days",
        ),
        (lambda d: d["matters"].append(d["matters"][0]), "/matters/15/id"),
        (
            lambda d: _first(d)["steps"][1].update(mode="parallel", departments=["taxation"]),
            "/matters/1/steps/1",
        ),
        (
            lambda d: _first(d)["steps"][0].update(departments=["fire_rescue"]),
            "/matters/1/steps/0/departments/0",
        ),
        (lambda d: _first(d)["departments"].append("education"), "/matters/1/departments/2"),
        (lambda d: d["departments"].pop("taxation"), "/matters/1/departments/1"),
        (
            lambda d: _first(d)["materials"][4].update(required=False, deferrable=True),
            "/matters/1/materials/4/deferrable",
        ),
        (lambda d: _first(d)["materials"].pop(), "/matters/1/materials"),
        (
            lambda d: _first(d)["form_schema"].update(minProperties=1),
            "/matters/1/form_schema/minProperties",
        ),
        (lambda d: d.update(version="2027.1"), "/version"),
    ],
)
def test_a_broken_catalog_is_refused_with_a_pointer(change: Any, pointer: str) -> None:
    with pytest.raises(CatalogInvalid) as refused:
        check_catalog_document(_broken(change), expected_version=CATALOG)
    assert refused.value.code == "catalog_invalid"
    assert refused.value.pointer == pointer


def test_every_form_is_a_valid_2020_12_schema_in_the_portable_subset() -> None:
    for version in catalog_versions():
        for matter in load_catalog(version).matters:
            Draft202012Validator.check_schema(matter.form_schema)
            check_form_schema(matter.form_schema)


def _form(**extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "title": "申请表",
        "properties": {"name": {"type": "string", "title": "姓名", "maxLength": 50}},
        "required": ["name"],
        "additionalProperties": False,
    }
    schema.update(extra)
    return schema


def _prop(node: dict[str, Any]) -> dict[str, Any]:
    return _form(
        properties={"field": node},
        required=["field"],
        **{"$defs": {"p": {"type": "string", "title": "人"}}},
    )


@pytest.mark.parametrize(
    ("schema", "pointer"),
    [
        (_form(minProperties=1), "/minProperties"),
        (_form(title="Application"), "/title"),
        (_form(additionalProperties=True), "/additionalProperties"),
        (_form(required=["age"]), "/required"),
        (_form(**{"$schema": "http://json-schema.org/draft-07/schema#"}), ""),
        (_prop({"type": "string"}), "/properties/field/title"),
        (_prop({"type": ["string", "null"], "title": "字段"}), "/properties/field/type"),
        (_prop({"oneOf": [{"type": "string"}], "title": "字段"}), "/properties/field/oneOf"),
        (
            _prop({"type": "string", "title": "字段", "pattern": "^\\d+$"}),
            "/properties/field/pattern",
        ),
        (
            _prop({"type": "string", "title": "字段", "format": "hostname"}),
            "/properties/field/format",
        ),
        (_prop({"type": "string", "title": "字段", "minimum": 1}), "/properties/field/minimum"),
        (_prop({"type": "integer", "title": "字段", "enum": ["一"]}), "/properties/field/enum"),
        (
            _prop({"type": "integer", "title": "字段", "minimum": 5, "maximum": 1}),
            "/properties/field/minimum",
        ),
        (_prop({"type": "array", "title": "字段"}), "/properties/field/items"),
        (
            _prop(
                {
                    "type": "object",
                    "title": "字段",
                    "properties": {"a": {"type": "string", "title": "甲"}},
                }
            ),
            "/properties/field/additionalProperties",
        ),
        (_prop({"$ref": "#/$defs/missing", "title": "字段"}), "/properties/field/$ref"),
        (
            _prop({"$ref": "https://example.com/person.json", "title": "字段"}),
            "/properties/field/$ref",
        ),
        (_prop({"$ref": "#/$defs/p", "title": "字段", "type": "object"}), "/properties/field"),
        (_prop({"type": "string", "title": "字段", "$defs": {}}), "/properties/field/$defs"),
        (_prop({"type": "string", "title": "字段", "default": "x"}), "/properties/field/default"),
        (
            _form(properties={"出生日期": {"type": "string", "title": "出生日期"}}, required=[]),
            "/properties/出生日期",
        ),
    ],
)
def test_forms_outside_the_portable_subset_are_refused(
    schema: dict[str, Any], pointer: str
) -> None:
    with pytest.raises(CatalogInvalid) as refused:
        check_form_schema(schema)
    assert refused.value.pointer == pointer


def test_a_form_using_all_of_the_portable_subset_passes() -> None:
    check_form_schema(
        _form(
            properties={
                "name": {"type": "string", "title": "姓名", "minLength": 1, "maxLength": 50},
                "kind": {"type": "string", "title": "类型", "enum": ["甲", "乙"]},
                "promise": {"type": "boolean", "title": "承诺", "const": True},
                "id": {"type": "string", "title": "证件号", "pattern": "^[0-9]{17}[0-9X]$"},
                "day": {"type": "string", "title": "日期", "format": "date", "description": "说明"},
                "age": {"type": "integer", "title": "年龄", "minimum": 0, "maximum": 150},
                "people": {"type": "array", "title": "人员", "items": {"$ref": "#/$defs/person"}},
            },
            **{
                "$defs": {
                    "person": {
                        "type": "object",
                        "title": "人员",
                        "properties": {"name": {"type": "string", "title": "姓名"}},
                        "additionalProperties": False,
                    }
                }
            },
        )
    )
