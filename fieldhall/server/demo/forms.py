"""The demo's applications: each matter's form answered for an invented resident (valid
against the matter's form schema in the catalog), and who applies for what — seniors for a
senior card, people over 80 for the old-age allowance, working-age people for a housing
fund withdrawal."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from .people import GridSpec, Person, make_person

__all__ = ["BIRTH_YEARS", "applicant_for", "form_for"]

# Birth years of who applies for each matter, counted back from the filing year.
BIRTH_YEARS: dict[str, tuple[int, int]] = {
    "senior_citizen_card": (90, 61),
    "senior_bus_card": (88, 61),
    "old_age_allowance": (96, 81),
    "real_estate_registration": (88, 30),
    "resident_medical_insurance": (75, 20),
    "social_security_card": (70, 19),
    "housing_fund_withdrawal": (58, 26),
    "gas_account_opening": (70, 25),
    "enterprise_change": (60, 28),
}
_BANKS = ("中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "中国邮政储蓄银行")
_PEOPLE_BANKS = (
    "中国工商银行",
    "中国农业银行",
    "中国银行",
    "中国建设银行",
    "中国邮政储蓄银行",
    "农村商业银行",
)


def applicant_for(rng: random.Random, matter_id: str, grid: GridSpec, today: date) -> Person:
    oldest, youngest = BIRTH_YEARS[matter_id]
    return make_person(
        rng, grid, born_from=today.year - oldest, born_to=today.year - youngest, today=today
    )


def _digits(rng: random.Random, count: int) -> str:
    return str(rng.randint(1, 9)) + "".join(str(rng.randrange(10)) for _ in range(count - 1))


def _certificate_number(rng: random.Random, year: int) -> str:
    return f"陕（{year}）安康市不动产权第{rng.randrange(10**7):07d}号"


def _senior_card(p: Person, rng: random.Random, day: date) -> dict[str, Any]:
    form: dict[str, Any] = {
        "birth_date": p.birth.isoformat(),
        "household_type": rng.choice(["本地户籍", "本地户籍", "外地户籍本地常住"]),
        "residence_address": p.address,
        "photo_on_site": True,
    }
    if rng.random() < 0.7:
        form["emergency_contact"] = {
            "name": p.name[0] + rng.choice(["建华", "小军", "丽萍", "海燕"]),
            "relation": "子女",
            "phone": f"1380000{rng.randrange(10_000):04d}",
        }
    return form


def _bus_card(p: Person, rng: random.Random, day: date) -> dict[str, Any]:
    card = "敬老卡（60至64周岁）" if p.age_on(day) < 65 else "爱心卡（65周岁及以上）"
    return {
        "card_type": card,
        "birth_date": p.birth.isoformat(),
        "pickup_station": "汉滨区公交公司巴山路营业厅",
    }


def _old_age(p: Person, rng: random.Random, day: date) -> dict[str, Any]:
    return {
        "birth_date": p.birth.isoformat(),
        "age": p.age_on(day),
        "household_address": p.address,
        "bank_name": rng.choice(_BANKS),
        "bank_account": "6217" + _digits(rng, 15),
        "account_holder": p.name,
        "receives_other_allowance": False,
    }


def _real_estate(p: Person, rng: random.Random, day: date) -> dict[str, Any]:
    area = round(rng.uniform(58, 142), 1)
    return {
        "registration_type": rng.choice(["转移登记", "转移登记", "变更登记", "抵押权注销登记"]),
        "applicant_role": rng.choice(["权利人", "义务人"]),
        "property_certificate_number": _certificate_number(rng, rng.randint(2016, 2024)),
        "property_location": p.address,
        "building_area": area,
        "property_use": "住宅",
        "transaction_price": int(area * rng.randint(4200, 6800)),
        "interview_done": True,
    }


def _medical_insurance(p: Person, rng: random.Random, day: date) -> dict[str, Any]:
    return {
        "insured_category": "城乡居民",
        "contribution_year": day.year + 1,
        "special_group": rng.choice(["无", "无", "无", "低保对象", "特困人员"]),
        "household_address": p.address,
    }


def _social_security(p: Person, rng: random.Random, day: date) -> dict[str, Any]:
    return {
        "application_type": rng.choice(["首次申领", "补领", "换领"]),
        "bank": rng.choice(_PEOPLE_BANKS),
        "is_minor": False,
        "mailing_address": p.address,
        "postal_code": "725000",
    }


def _housing_fund(p: Person, rng: random.Random, day: date) -> dict[str, Any]:
    return {
        "fund_account_number": _digits(rng, 12),
        "withdrawal_reason": rng.choice(["购买自住住房", "偿还购房贷款本息", "租赁自住住房"]),
        "amount": float(rng.randint(8, 60) * 1000),
        "receiving_bank": rng.choice(_BANKS),
        "bank_card_number": "6222" + _digits(rng, 15),
        "contract_number": f"AK{day.year}{rng.randrange(10**6):06d}",
    }


def _gas(p: Person, rng: random.Random, day: date) -> dict[str, Any]:
    return {
        "account_type": "居民用户",
        "install_address": p.address,
        "property_certificate_number": _certificate_number(rng, rng.randint(2015, 2024)),
        "appointment_date": (day + timedelta(days=rng.randint(3, 10))).isoformat(),
        "contact_phone": p.phone,
        "appliances": ["燃气灶", "燃气热水器"],
    }


_LETTERS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _enterprise_change(p: Person, rng: random.Random, day: date) -> dict[str, Any]:
    code = "92" + "610902" + "".join(rng.choice(_LETTERS) for _ in range(10))
    shop = rng.choice(["汉滨区", "安康市"]) + rng.choice(["鑫源", "秦巴", "汉江", "瀛湖"])
    return {
        "credit_code": code,
        "enterprise_name": shop + rng.choice(["商贸有限公司", "餐饮店", "农产品经营部"]),
        "changes": [
            {"item": "住所", "before": "汉滨区巴山路18号", "after": "汉滨区吾悦广场2层2036号"}
        ],
        "change_reason": "经营场所搬迁",
        "replace_license": True,
    }


_FORMS: dict[str, Callable[[Person, random.Random, date], dict[str, Any]]] = {
    "senior_citizen_card": _senior_card,
    "senior_bus_card": _bus_card,
    "old_age_allowance": _old_age,
    "real_estate_registration": _real_estate,
    "resident_medical_insurance": _medical_insurance,
    "social_security_card": _social_security,
    "housing_fund_withdrawal": _housing_fund,
    "gas_account_opening": _gas,
    "enterprise_change": _enterprise_change,
}


def form_for(matter_id: str, person: Person, rng: random.Random, day: date) -> dict[str, Any]:
    """The matter's form, answered for ``person`` filing on ``day``."""
    return _FORMS[matter_id](person, rng, day)
