"""Every matter's form accepts real answers and refuses wrong ones, with a precise pointer."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fieldhall.schemas import catalog_versions, load_catalog
from fieldhall.schemas.errors import SchemaInvalid
from fieldhall.schemas.validation import validate_form

from .examples import CATALOG, FORMS, OLD_CATALOG, form_example

MATTERS = [(v, m.id) for v in catalog_versions() for m in load_catalog(v).matters]


def test_every_matter_of_every_version_has_an_example() -> None:
    assert {mid for _, mid in MATTERS} == set(FORMS)


@pytest.mark.parametrize(("version", "matter_id"), MATTERS)
def test_real_answers_are_accepted(version: str, matter_id: str) -> None:
    validate_form(load_catalog(version).matter(matter_id), form_example(matter_id, version))


@pytest.mark.parametrize(("version", "matter_id"), MATTERS)
def test_each_missing_required_answer_is_named(version: str, matter_id: str) -> None:
    matter = load_catalog(version).matter(matter_id)
    for name in matter.form_schema["required"]:
        answers = form_example(matter_id, version)
        del answers[name]
        with pytest.raises(SchemaInvalid) as refused:
            validate_form(matter, answers)
        assert refused.value.pointer == f"/form/{name}"
        assert refused.value.message == "required member is missing"


@pytest.mark.parametrize(("version", "matter_id"), MATTERS)
def test_an_unknown_answer_is_refused(version: str, matter_id: str) -> None:
    answers = form_example(matter_id, version)
    answers["remark"] = "备注"
    with pytest.raises(SchemaInvalid) as refused:
        validate_form(load_catalog(version).matter(matter_id), answers)
    assert refused.value.pointer == "/form/remark"


def _refusal(matter_id: str, change: Any, version: str = CATALOG) -> SchemaInvalid:
    answers = copy.deepcopy(form_example(matter_id, version))
    change(answers)
    with pytest.raises(SchemaInvalid) as refused:
        validate_form(load_catalog(version).matter(matter_id), answers, pointer="/form")
    return refused.value


@pytest.mark.parametrize(
    ("matter_id", "change", "pointer", "message"),
    [
        (
            "real_estate_registration",
            lambda a: a.update(property_certificate_number="达州市0012345"),
            "/form/property_certificate_number",
            "does not match the pattern",
        ),
        (
            "real_estate_registration",
            lambda a: a["co_owners"][0].update(id_number="51170219401306004X"),
            "/form/co_owners/0/id_number",
            "does not match the pattern",
        ),
        (
            "real_estate_registration",
            lambda a: a.update(building_area=0),
            "/form/building_area",
            "must be ≥ 1",
        ),
        (
            "senior_citizen_card",
            lambda a: a.update(birth_date="1942-02-30"),
            "/form/birth_date",
            "is not a valid date",
        ),
        (
            "senior_citizen_card",
            lambda a: a.update(household_type="外省"),
            "/form/household_type",
            "must be one of",
        ),
        (
            "senior_citizen_card",
            lambda a: a["emergency_contact"].update(phone="12345"),
            "/form/emergency_contact/phone",
            "does not match the pattern",
        ),
        (
            "enterprise_change",
            lambda a: a.update(credit_code="91220101MA17XY3K2O"),
            "/form/credit_code",
            "does not match the pattern",
        ),
        (
            "enterprise_deregistration",
            lambda a: a.update(all_debts_settled=False),
            "/form/all_debts_settled",
            "must be true",
        ),
        ("old_age_allowance", lambda a: a.update(age=79), "/form/age", "must be ≥ 80"),
        (
            "old_age_allowance",
            lambda a: a.update(age=85.5),
            "/form/age",
            "must be of type integer",
        ),
        (
            "temporary_assistance",
            lambda a: a.update(description="没钱"),
            "/form/description",
            "must be at least 10 characters long",
        ),
        (
            "gas_account_opening",
            lambda a: a.update(appliances=["煤气罐"]),
            "/form/appliances/0",
            "must be one of",
        ),
        (
            "private_school_license_renewal",
            lambda a: a.update(license_number="教民1610902号"),
            "/form/license_number",
            "does not match the pattern",
        ),
        (
            "housing_fund_withdrawal",
            lambda a: a.update(amount="12000"),
            "/form/amount",
            "must be of type number",
        ),
    ],
)
def test_wrong_answers_are_refused_precisely(
    matter_id: str, change: Any, pointer: str, message: str
) -> None:
    refused = _refusal(matter_id, change)
    assert refused.pointer == pointer
    assert refused.message.startswith(message)
    assert refused.code == "schema_invalid"


def test_a_form_is_judged_against_the_version_it_names() -> None:
    # The 2026.1 answers lack the household address 2025.2 required, and carry the on-site
    # photo option 2025.2 did not have.
    answers = form_example("senior_citizen_card", CATALOG)
    with pytest.raises(SchemaInvalid) as refused:
        validate_form(load_catalog(OLD_CATALOG).matter("senior_citizen_card"), answers)
    assert {pointer for pointer, _ in refused.value.problems} == {
        "/form/hukou_address",
        "/form/photo_on_site",
    }
    validate_form(load_catalog(CATALOG).matter("senior_citizen_card"), answers)


def test_all_problems_are_listed_for_a_one_time_notice() -> None:
    refused = _refusal(
        "temporary_assistance",
        lambda a: a.update(household_size=0, monthly_income=-1, description="短"),
    )
    assert {p for p, _ in refused.problems} == {
        "/form/household_size",
        "/form/monthly_income",
        "/form/description",
    }


def test_messages_never_echo_the_value() -> None:
    refused = _refusal(
        "real_estate_registration",
        lambda a: a["co_owners"][0].update(id_number="51170219401306004Y"),
    )
    assert "51170219401306004Y" not in refused.reason
