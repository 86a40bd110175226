"""The demo hall's people, all invented: its grids and agents, its staff, and the residents
who apply — deterministic for a seed, so two demo halls seeded alike tell the same story.

Residents get 公民身份号码 that are syntactically valid (GB 11643: the area code of the
district, the birth date, a sequence number whose parity is the sex, the ISO 7064 MOD 11-2
check digit) but belong to nobody: the sequence numbers are drawn from 900-999, and phone
numbers from the 138-0000 block that Chinese documentation uses for examples.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = [
    "AGENTS",
    "GRIDS",
    "STAFF",
    "STATION",
    "STATION_STAFF",
    "AgentSpec",
    "GridSpec",
    "Person",
    "StaffSpec",
    "id_check_digit",
    "id_number",
    "make_person",
]


@dataclass(frozen=True, slots=True)
class GridSpec:
    id: str
    name: str
    area_code: str  # 行政区划代码 of the district
    town: str  # 安康市汉滨区新城街道
    places: tuple[str, ...]  # communities or villages of the grid
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class AgentSpec:
    slug: str  # the device state file's name
    name: str
    grid_id: str
    station_id: str | None = None


@dataclass(frozen=True, slots=True)
class StaffSpec:
    username: str
    role: str
    display_name: str
    department: str | None = None


GRIDS: tuple[GridSpec, ...] = (
    GridSpec(
        "hb-xincheng-01",
        "新城街道南环社区网格",
        "610902",
        "安康市汉滨区新城街道",
        ("南环社区", "大桥路社区", "西城阁社区"),
        32.684,
        109.029,
    ),
    GridSpec(
        "hb-jiangbei-02",
        "江北街道网格",
        "610902",
        "安康市汉滨区江北街道",
        ("张岭社区", "滨江社区", "育才社区"),
        32.701,
        109.018,
    ),
    GridSpec(
        "hb-guanmiao-03",
        "关庙镇网格",
        "610902",
        "安康市汉滨区关庙镇",
        ("关庙村", "丰景村", "新庄村"),
        32.602,
        109.152,
    ),
)

AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec("wang-fang", "王芳", "hb-xincheng-01"),
    AgentSpec("li-ming", "李明", "hb-xincheng-01"),
    AgentSpec("zhang-wei", "张伟", "hb-jiangbei-02"),
    AgentSpec("liu-yang", "刘洋", "hb-jiangbei-02"),
    AgentSpec("chen-jing", "陈静", "hb-guanmiao-03"),
    AgentSpec("yang-lei", "杨磊", "hb-guanmiao-03"),
)

# Hanbin's mobile service station at the Wuyue Plaza mall (MISSION: 12 categories of
# high-frequency matters). Its staff member also belongs to the grid the mall is in: a case
# names its grid, and a device files only for its own enrollment.
STATION = ("wuyue-plaza", "吾悦广场流动服务站")
STATION_STAFF = AgentSpec("zhao-min", "赵敏", "hb-jiangbei-02", STATION[0])

STAFF: tuple[StaffSpec, ...] = (
    StaffSpec("admin", "admin", "系统管理员 何军"),
    StaffSpec("clerk", "clerk", "综合窗口 孙丽"),
    StaffSpec("supervisor", "supervisor", "电子监察 周强"),
    StaffSpec("approver.civil_affairs", "approver", "民政局 审批员 吴敏", "civil_affairs"),
    StaffSpec(
        "approver.real_estate_center",
        "approver",
        "不动产登记中心 审批员 郑浩",
        "real_estate_center",
    ),
    StaffSpec("approver.taxation", "approver", "税务局 审批员 冯雪", "taxation"),
    StaffSpec(
        "approver.housing_fund_center", "approver", "公积金中心 审批员 许涛", "housing_fund_center"
    ),
    StaffSpec(
        "approver.human_resources_social_security",
        "approver",
        "人社局 审批员 马丽",
        "human_resources_social_security",
    ),
    StaffSpec(
        "approver.healthcare_security", "approver", "医保局 审批员 朱峰", "healthcare_security"
    ),
    StaffSpec(
        "approver.subdistrict_office", "approver", "街道办 审批员 胡静", "subdistrict_office"
    ),
    StaffSpec("approver.bus_company", "approver", "公交公司 审批员 郭亮", "bus_company"),
    StaffSpec("approver.gas_company", "approver", "燃气公司 审批员 林娜", "gas_company"),
    StaffSpec(
        "approver.market_regulation", "approver", "市场监管局 审批员 罗斌", "market_regulation"
    ),
)

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
    "韩冯邓曹彭曾肖田董潘袁蔡蒋余杜叶程魏苏吕丁任沈"
)
_GIVEN_MALE = (
    "德福", "建国", "志强", "国华", "文明", "永强", "长林", "守仁", "明华", "春生",
    "海涛", "建军", "立新", "宏伟", "振兴", "家兴", "少华", "广才", "树林", "庆丰",
)  # fmt: skip
_GIVEN_FEMALE = (
    "桂兰", "秀英", "玉珍", "淑芬", "凤英", "翠华", "秀兰", "丽娟", "春梅", "海燕",
    "小红", "晓燕", "金凤", "素珍", "慧敏", "雪梅", "亚平", "红霞", "美玲", "兰芳",
)  # fmt: skip
_ROADS = ("巴山路", "兴安路", "金州路", "育才路", "滨江大道", "香溪路", "江北大道", "友谊路")

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """GB 11643's check digit (ISO 7064 MOD 11-2) of the first 17 digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def id_number(area_code: str, birth: date, sequence: int) -> str:
    """A syntactically valid 公民身份号码; ``sequence`` (0-999) is odd for men."""
    first17 = f"{area_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_digit(first17)


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    male: bool
    birth: date
    id_number: str
    phone: str
    address: str
    place: str  # the community or village

    def age_on(self, day: date) -> int:
        return (
            day.year - self.birth.year - ((day.month, day.day) < (self.birth.month, self.birth.day))
        )

    def applicant(self) -> dict[str, str]:
        """The case's ``applicant`` (the device seals the ID number and phone)."""
        return {
            "name": self.name,
            "id_number": self.id_number,
            "phone": self.phone,
            "address": self.address,
        }


def make_person(
    rng: random.Random, grid: GridSpec, *, born_from: int, born_to: int, today: date
) -> Person:
    """An invented resident of ``grid`` born between the two years (inclusive)."""
    male = rng.random() < 0.5
    name = rng.choice(_SURNAMES) + rng.choice(_GIVEN_MALE if male else _GIVEN_FEMALE)
    first = date(born_from, 1, 1)
    span = (min(date(born_to, 12, 31), today) - first).days
    birth = first + timedelta(days=rng.randrange(span + 1))
    sequence = rng.randrange(900, 1000)
    if (sequence % 2 == 1) != male:
        sequence = sequence - 1 if sequence > 900 else sequence + 1
    place = rng.choice(grid.places)
    if place.endswith("村"):
        address = f"{grid.town}{place}{rng.randint(1, 9)}组{rng.randint(1, 60)}号"
    else:
        room = f"{rng.randint(1, 18)}0{rng.randint(1, 4)}"
        address = (
            f"{grid.town}{place}{rng.choice(_ROADS)}{rng.randint(1, 199)}号"
            f"{rng.randint(1, 12)}栋{rng.randint(1, 4)}单元{room}室"
        )
    phone = f"1380000{rng.randrange(10_000):04d}"
    return Person(
        name, male, birth, id_number(grid.area_code, birth, sequence), phone, address, place
    )
