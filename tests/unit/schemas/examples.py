"""Example people, keys, form answers and documents for the contract tests.

bob is a grid agent (网格长) in Changchun's 会展 community; his phone is ``device-bob``.
zhang is 张玉琴, the elderly resident he files a senior-citizen card for at home;
li is 黎忠美, 85, whose real-estate registration is filed from a hospital ward in Dazhou.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldhall.schemas import sign_document
from fieldhall.schemas.keys import public_key_raw

CATALOG = "2026.1"
OLD_CATALOG = "2025.2"
SIGNED_AT = "2026-03-02T02:15:00.000Z"

BOB_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
BOB_PUBLIC = public_key_raw(BOB_KEY)
SERVER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
SERVER_KID = "server:" + hashlib.sha256(public_key_raw(SERVER_KEY)).hexdigest()[:16]


def id_number(area: str, birth: str, sequence: str) -> str:
    """A 公民身份号码 with its GB 11643 check digit."""
    body = area + birth + sequence
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(digit) * weight for digit, weight in zip(body, weights, strict=True))
    return body + "10X98765432"[total % 11]


ZHANG_ID = id_number("220104", "19420315", "122")  # 长春市朝阳区, born 1942
LI_ID = id_number("511702", "19400906", "046")  # 达州市通川区, born 1940
WANG_ID = id_number("610902", "19850612", "031")  # 安康市汉滨区
CHEN_ID = id_number("610902", "19880220", "042")

PERSON = {"name": "王建军", "id_number": WANG_ID, "phone": "13991512345"}
SHA = "9f2c6a0e" * 8
DOC_ULID = "01JN8Y5Z6Q7R8S9T0V1W2X3Y4Z"

# Answers valid against each matter's form in catalog 2026.1 (see form_example for 2025.2).
FORMS: dict[str, dict[str, Any]] = {
    "senior_citizen_card": {
        "birth_date": "1942-03-15",
        "household_type": "本地户籍",
        "residence_address": "吉林省长春市经开区会展社区福临家园3栋2单元501",
        "emergency_contact": {"name": "王婧姝", "relation": "网格员", "phone": "13804301234"},
        "photo_on_site": True,
    },
    "real_estate_registration": {
        "registration_type": "转移登记",
        "applicant_role": "义务人",
        "property_certificate_number": "川（2021）达州市不动产权第0012345号",
        "property_location": "达州市通川区朝阳中路112号2幢3单元601",
        "building_area": 98.6,
        "property_use": "住宅",
        "transaction_price": 520000,
        "co_owners": [{"name": "黎建国", "id_number": CHEN_ID, "share_percent": 50}],
        "interview_done": True,
    },
    "housing_fund_withdrawal": {
        "fund_account_number": "610902001234567",
        "withdrawal_reason": "租赁自住住房",
        "amount": 12000,
        "receiving_bank": "中国建设银行安康分行",
        "bank_card_number": "6217004160012345678",
    },
    "social_security_card": {
        "application_type": "补领",
        "bank": "中国工商银行",
        "is_minor": False,
        "mailing_address": "陕西省安康市汉滨区兴安中路56号",
        "postal_code": "725000",
    },
    "resident_medical_insurance": {
        "insured_category": "城乡居民",
        "contribution_year": 2026,
        "special_group": "低保对象",
        "household_address": "陕西省安康市汉滨区江北街道",
    },
    "enterprise_establishment": {
        "enterprise_name": "安康市汉滨区秦巴山珍农产品有限公司",
        "enterprise_type": "有限责任公司",
        "registered_capital": 100,
        "business_scope": "农副产品销售；食用农产品零售；互联网销售（除销售需要许可的商品）",
        "domicile": "陕西省安康市汉滨区吾悦广场B座1203室",
        "legal_representative": PERSON,
        "shareholders": [
            {
                "name": "王建军",
                "identity_number": WANG_ID,
                "contribution": 60,
                "contribution_deadline": "2030-12-31",
            },
            {
                "name": "安康秦巴投资有限公司",
                "identity_number": "91610900MA70AB1C2D",
                "contribution": 40,
                "contribution_deadline": "2030-12-31",
            },
        ],
        "free_seal": True,
        "apply_invoice": True,
    },
    "enterprise_change": {
        "credit_code": "91220101MA17XY3K2P",
        "enterprise_name": "吉林恒鑫环保科技有限公司",
        "changes": [
            {
                "item": "住所",
                "before": "长春市经开区浦东路1188号",
                "after": "长春市经开区临河街5566号新厂房",
            }
        ],
        "change_reason": "扩大生产规模，迁入新厂房",
        "replace_license": True,
    },
    "enterprise_deregistration": {
        "credit_code": "91610902MA70XK2B3C",
        "enterprise_name": "汉滨区江北小吃店有限公司",
        "deregistration_type": "简易注销",
        "reason": "决议解散",
        "all_debts_settled": True,
    },
    "senior_bus_card": {"card_type": "爱心卡（65周岁及以上）", "birth_date": "1950-08-01"},
    "gas_account_opening": {
        "account_type": "居民用户",
        "install_address": "陕西省安康市汉滨区育才路18号4单元302",
        "appointment_date": "2026-03-10",
        "contact_phone": "0915-3212345",
        "appliances": ["燃气灶", "燃气热水器"],
    },
    "old_age_allowance": {
        "birth_date": "1940-09-06",
        "age": 85,
        "household_address": "四川省达州市通川区小北街社区",
        "bank_name": "四川农信",
        "bank_account": "6214560012345678901",
        "account_holder": "黎忠美",
        "receives_other_allowance": False,
    },
    "disability_certificate": {
        "disability_category": "肢体残疾",
        "home_assessment": True,
        "household_address": "吉林省长春市经开区会展社区",
    },
    "temporary_assistance": {
        "assistance_type": "支出型",
        "reason": "家庭成员突发重大疾病",
        "description": "配偶突发脑梗住院，自付医疗费用约四万元，家庭无其他收入来源。",
        "household_size": 3,
        "monthly_income": 1800,
        "requested_amount": 5000,
        "family_members": [
            {"name": "王建军", "relation": "本人", "id_number": WANG_ID},
            {"name": "陈秀兰", "relation": "配偶", "id_number": CHEN_ID},
        ],
    },
    "maternity_registration": {
        "spouse": {"name": "陈秀兰", "id_number": CHEN_ID},
        "child_order": 2,
        "current_children": 1,
        "expected_due_date": "2026-09-20",
    },
    "private_school_license_renewal": {
        "school_name": "汉滨区阳光贝贝幼儿园",
        "license_number": "教民161090270000123号",
        "school_type": "幼儿园",
        "enrolment_capacity": 270,
        "principal": PERSON,
        "license_expiry": "2026-09-30",
        "fire_inspection_passed": True,
    },
}


def form_example(matter_id: str, version: str = CATALOG) -> dict[str, Any]:
    answers = copy.deepcopy(FORMS[matter_id])
    if version == OLD_CATALOG:
        # 2025.2 asked for more: the household address of a senior, the employer of a
        # fund withdrawal; the on-site photo option came with 2026.1.
        if matter_id == "senior_citizen_card":
            answers.pop("photo_on_site")
            answers["hukou_address"] = "吉林省长春市朝阳区红旗街道"
        if matter_id == "housing_fund_withdrawal":
            answers["employer_name"] = "安康市汉滨区第一中学"
    return answers


def manifest(name: str, material_id: str, content_type: str = "image/jpeg") -> dict[str, Any]:
    return {
        "name": name,
        "material_id": material_id,
        "sha256": hashlib.sha256(name.encode()).hexdigest(),
        "length": 48213,
        "content_type": content_type,
        "captured_at": "2026-03-02T10:12:31+08:00",
        "location": {"lat": 43.8626, "lon": 125.3954, "accuracy_m": 12.5},
    }


def _device(doc_type: str, seq: int = 1, prev_hash: str | None = None) -> dict[str, Any]:
    return {
        "_id": f"{doc_type}:{DOC_ULID}",
        "type": doc_type,
        "contract": 1,
        "agent_id": "agent-bob",
        "device_id": "device-bob",
        "created_at": "2026-03-02T10:15:00+08:00",
        "device_seq": seq,
        "prev_hash": prev_hash,
    }


def unsigned_case(
    matter_id: str = "senior_citizen_card", version: str = CATALOG, **changes: Any
) -> dict[str, Any]:
    doc = _device("case")
    doc.update(
        {
            "matter": {"id": matter_id, "catalog_version": version},
            "channel": "home_visit",
            "grid_id": "grid-huizhan-3",
            "station_id": None,
            "request_id": "req-12345-0301-0088",
            "applicant": {
                "name": "张玉琴",
                "id_number": ZHANG_ID,
                "phone": "13604312345",
                "address": "吉林省长春市经开区会展社区福临家园3栋2单元501",
            },
            "form": form_example(matter_id, version),
            "materials": [
                manifest("id_front.jpg", "id_card"),
                manifest("id_back.jpg", "id_card"),
                manifest("consent.png", "consent_signature", "image/png"),
            ],
            "consent": {"attachment": "consent.png", "signed_at": "2026-03-02T10:14:02+08:00"},
            "location": {"lat": 43.8626, "lon": 125.3954, "accuracy_m": 15},
        }
    )
    doc.update(changes)
    return doc


def unsigned(doc_type: str) -> dict[str, Any]:
    """A valid example of every document type, before signing."""
    if doc_type == "case":
        return unsigned_case()
    if doc_type == "supplement":
        doc = _device("supplement", 2, SHA)
        doc.update(
            {
                "case_id": f"case:{DOC_ULID}",
                "answers_event": "case_event:01JN9A0B1C2D3E4F5G6H7J8K9M",
                "materials": [manifest("hukou.jpg", "hukou_booklet")],
                "note": "户口簿已补拍",
            }
        )
        return doc
    if doc_type == "delivery":
        doc = _device("delivery", 3, SHA)
        doc.update(
            {
                "case_id": f"case:{DOC_ULID}",
                "method": "agent",
                "delivered_at": "2026-03-02T15:40:00+08:00",
                "recipient": {"name": "张玉琴", "relation": "本人"},
                "recipient_signature": "receipt-signature.png",
                "materials": [
                    manifest("receipt-signature.png", "recipient_signature", "image/png")
                ],
                "rating": 5,
                "comment": "不到半天就送到家了，非常满意",
            }
        )
        return doc
    if doc_type == "visit_update":
        doc = _device("visit_update", 4, SHA)
        doc.update(
            {
                "request_id": "req-12345-0301-0088",
                "status": "on_site",
                "at": "2026-03-02T10:05:00+08:00",
                "location": {"lat": 43.8626, "lon": 125.3954},
                "note": None,
            }
        )
        return doc
    server = {
        "_id": f"{doc_type}:0195563a-7b1c-7d2e-8f30-4a5b6c7d8e9f",
        "type": doc_type,
        "contract": 1,
        "created_at": "2026-03-02T03:00:00Z",
    }
    if doc_type == "case_event":
        server.update(
            {
                "agent_id": "agent-bob",
                "case_id": f"case:{DOC_ULID}",
                "event": "accepted_with_deficiencies",
                "items": [
                    {"material_id": "photo", "problem": "一寸免冠照片未提供", "due": "2026-03-09"}
                ],
                "reason": None,
                "by_role": "clerk",
                "at": "2026-03-02T03:00:00Z",
            }
        )
    elif doc_type == "visit_request":
        server.update(
            {
                "request_id": "req-12345-0301-0088",
                "source": "hotline",
                "urgency": "urgent",
                "resident": {
                    "name": "张玉琴",
                    "address": "吉林省长春市经开区会展社区福临家园3栋2单元501",
                    "phone": "13604312345",
                },
                "matter_id": "senior_citizen_card",
                "deadlines": {
                    "take_by": "2026-03-02T01:30:00Z",
                    "on_site_by": "2026-03-02T03:00:00Z",
                    "close_by": "2026-03-02T13:00:00Z",
                },
                "grid_id": "grid-huizhan-3",
                "assigned_agent_id": "agent-bob",
                "note": "老人骨膜炎行动不便，需上门办理老年证",
            }
        )
    elif doc_type == "receipt":
        server.update(
            {
                "agent_id": "agent-bob",
                "device_id": "device-bob",
                "case_id": f"case:{DOC_ULID}",
                "for": {
                    "id": f"case:{DOC_ULID}",
                    "rev": "1-9b2c3d4e5f60718293a4b5c6d7e8f901",
                    "sha256": SHA,
                },
                "attachments": {"id_front.jpg": SHA, "consent.png": SHA},
                "received_at": "2026-03-02T02:16:03.120Z",
            }
        )
    elif doc_type == "station_event":
        server.update(
            {
                "station_id": "station-wuyue",
                "channel": "station:station-wuyue",
                "revision": 2,
                "status": "scheduled",
                "title": "政务服务进商圈",
                "place": {
                    "name": "吾悦广场一楼中庭",
                    "address": "安康市汉滨区吾悦广场购物中心一楼",
                    "location": {"lat": 32.69, "lon": 109.02},
                },
                "starts_at": "2026-08-23T01:00:00Z",
                "ends_at": "2026-08-23T09:00:00Z",
                "catalog_version": CATALOG,
                "departments": ["market_regulation", "housing_fund_center"],
                "matters": ["enterprise_establishment", "housing_fund_withdrawal"],
                "staff": [{"agent_id": "agent-zhou", "name": "周站长"}],
                "devices": ["device-zhou"],
                "note": None,
                "updated_at": "2026-08-20T02:00:00Z",
            }
        )
    return server


def signed(doc_type: str) -> dict[str, Any]:
    doc = unsigned(doc_type)
    if doc_type in ("case_event", "visit_request", "receipt", "station_event"):
        return sign_document(doc, SERVER_KEY, SERVER_KID, SIGNED_AT)
    return sign_document(doc, BOB_KEY, "device-bob", SIGNED_AT)
