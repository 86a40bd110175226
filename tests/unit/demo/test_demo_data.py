"""The demo's data before it meets a hall: the plan fits its days and tells every state's
story, the invented people have valid-looking documents, the photos are real JPEGs (and
PDFs) that the door accepts, and everything is the same for the same seed."""

from __future__ import annotations

import io
import random
import re
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from PIL import Image

from fieldhall.field_app_api.photos import inspect_file
from fieldhall.schemas import load_catalog
from fieldhall.schemas.documents import ID_NUMBER_PATTERN, PHONE_PATTERN
from fieldhall.server.demo import photos
from fieldhall.server.demo.forms import BIRTH_YEARS, applicant_for, form_for
from fieldhall.server.demo.people import AGENTS, GRIDS, STAFF, id_check_digit, id_number
from fieldhall.server.demo.plan import (
    CATALOG_VERSION,
    DAY_MINUTES,
    PlanError,
    Step,
    _Script,
    build_plan,
    decision_order,
)
from fieldhall.server.demo.seeding import Timeline
from fieldhall.server.hall.machine import TRANSITIONS
from fieldhall.server.hall.timelimits import default_calendar
from fieldhall.server.hall.timelimits.localday import HALL_TZ, hall_date


def test_the_plan_has_sixty_cases_and_every_story_stays_in_the_past() -> None:
    plans = build_plan()
    assert len(plans) >= 60
    assert len({p.number for p in plans}) == len(plans)
    for plan in plans:
        assert plan.steps[0].action == "file"
        moments = [(-s.day, s.minute) for s in plan.steps]
        assert moments == sorted(moments) and len(set(moments)) == len(moments), plan
        assert all(s.day >= 0 and 0 <= s.minute <= DAY_MINUTES for s in plan.steps)
    channels = Counter(p.channel for p in plans)
    assert set(channels) == {"home_visit", "hospital", "mobile_station", "hall"}
    assert len({p.matter for p in plans}) >= 8
    assert len({p.agent for p in plans}) == len(AGENTS) + 1  # and the station's staff


def test_the_plan_uses_every_staff_action_and_every_device_document() -> None:
    actions = {s.action for p in build_plan() for s in p.steps}
    staff_actions = {n for n, t in TRANSITIONS.items() if t.trigger == "staff"}
    assert staff_actions | {"escalate_complaint", "answer_complaint"} <= actions
    assert {"file", "supplement", "delivery"} <= actions


def test_every_decision_has_an_approver_and_parallel_steps_run_backwards() -> None:
    catalog = load_catalog(CATALOG_VERSION)
    departments = {s.department for s in STAFF if s.role == "approver"}
    for plan in build_plan():
        matter = catalog.matter(plan.matter)
        assert {d for _, d in decision_order(matter)} <= departments, plan.matter
        for step in plan.steps:
            assert step.by is None or step.by in {s.username for s in STAFF}
    estate = decision_order(catalog.matter("real_estate_registration"))
    assert estate == [
        ("accept", "real_estate_center"),
        ("joint_review", "taxation"),
        ("joint_review", "real_estate_center"),
        ("record_issue", "real_estate_center"),
    ]


def test_a_story_that_does_not_fit_before_the_anchor_day_is_refused() -> None:
    script = _Script(0, DAY_MINUTES - 10)
    script.add("file")
    with pytest.raises(PlanError):
        script.add("pass_pre_review", after=60)
    with pytest.raises(PlanError):
        _Script(0, 30).next_day()
    assert Step(0, 0, "file").by is None


def test_id_numbers_are_valid_gb11643_numbers_of_nobody() -> None:
    # The standard's own worked example: 11010519491231002X.
    assert id_check_digit("11010519491231002") == "X"
    assert id_number("110105", date(1949, 12, 31), 2) == "11010519491231002X"
    today = date(2026, 11, 27)
    rng = random.Random(5)
    for matter, (oldest, youngest) in BIRTH_YEARS.items():
        for grid in GRIDS:
            person = applicant_for(rng, matter, grid, today)
            assert re.fullmatch(ID_NUMBER_PATTERN, person.id_number)
            assert re.fullmatch(PHONE_PATTERN, person.phone)
            assert person.id_number[:17] + id_check_digit(person.id_number[:17]) == (
                person.id_number
            )
            assert 900 <= int(person.id_number[14:17]) <= 999
            assert (int(person.id_number[16]) % 2 == 1) == person.male
            assert today.year - oldest <= person.birth.year <= today.year - youngest
            assert person.address.startswith(grid.town)


def test_forms_answer_the_catalog_schemas() -> None:
    from jsonschema import Draft202012Validator, FormatChecker

    catalog = load_catalog(CATALOG_VERSION)
    today = date(2026, 11, 27)
    for matter_id in BIRTH_YEARS:
        schema = catalog.matter(matter_id).form_schema
        for seed in range(5):
            rng = random.Random(seed)
            person = applicant_for(rng, matter_id, GRIDS[seed % 3], today)
            form = form_for(matter_id, person, rng, today)
            errors = list(
                Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(form)
            )
            assert not errors, (matter_id, [e.message for e in errors])
    old = applicant_for(random.Random(1), "old_age_allowance", GRIDS[0], today)
    assert form_for("old_age_allowance", old, random.Random(1), today)["age"] >= 80


def test_photos_are_deterministic_real_files_the_door_accepts() -> None:
    person = applicant_for(random.Random(3), "senior_citizen_card", GRIDS[1], date(2026, 1, 5))
    made = {
        "id_card": photos.id_card(person, 7),
        "portrait": photos.portrait(person, 7),
        "household_register": photos.household_register(person, 7),
        "bank_card": photos.bank_card(7),
        "document": photos.document_page("transfer_contract", 7),
        "signature": photos.signature(person.name, 7),
    }
    for name, data in made.items():
        info = inspect_file(io.BytesIO(data), "image/jpeg")
        assert info.kind == "image/jpeg" and not info.has_gps, name
        assert 1_000 < len(data) < 120_000, name
        assert Image.open(io.BytesIO(data)).format == "JPEG"
    assert photos.id_card(person, 7) == made["id_card"]
    assert photos.id_card(person, 8) != made["id_card"]
    assert photos.signature(person.name, 7) == made["signature"]
    pdf = photos.pdf_document("amended_articles", 1)
    assert inspect_file(io.BytesIO(pdf), "application/pdf").pages == 1
    assert pdf == photos.pdf_document("amended_articles", 1)


@pytest.mark.parametrize(
    ("now", "anchor"),
    [
        # Friday 27 Nov 2026, 13:46 in Shanghai: Thursday's hours are the last that ended.
        (datetime(2026, 11, 27, 5, 46, tzinfo=UTC), date(2026, 11, 26)),
        # Friday 18:00 in Shanghai: Friday itself.
        (datetime(2026, 11, 27, 10, 0, tzinfo=UTC), date(2026, 11, 27)),
        # Sunday: Friday.
        (datetime(2026, 11, 29, 4, 0, tzinfo=UTC), date(2026, 11, 27)),
        # 8 Oct 2025, still the National Day holiday: the last working day was 30 Sep.
        (datetime(2025, 10, 8, 4, 0, tzinfo=UTC), date(2025, 9, 30)),
    ],
)
def test_the_timeline_counts_working_days_back_from_the_last_finished_one(
    now: datetime, anchor: date
) -> None:
    calendar = default_calendar()
    timeline = Timeline(calendar, now)
    assert timeline.anchor == anchor
    assert all(calendar.is_working_day(d) for d in timeline.days)
    assert timeline.days == sorted(timeline.days, reverse=True)
    assert timeline.instant(0, DAY_MINUTES) <= now
    first = timeline.instant(3, 0)
    assert hall_date(first) == timeline.days[3]
    assert first.astimezone(HALL_TZ).strftime("%H:%M") == "08:30"
