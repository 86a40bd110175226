"""What happens in the demo hall, as a plan: which agent files which case, through which
channel, and every later step of its story — the hall's pre-review, its one-time notice and
the device's supplement, acceptance (with deficiencies), each department's decision, the
result, the agent's signed delivery, closing, a refusal, a withdrawal, a complaint.

Pure: no I/O. Times are working days before the *anchor day* (the latest working day that
has ended) and minutes after 08:30 Asia/Shanghai, so the plan reads the same whatever day
the demo runs, and :mod:`~fieldhall.server.demo.seeding` turns it into instants on the
working-day calendar. Stories that leave a case in approval are placed so that their
promised deadline (承诺时限) is days past (overdue), or tomorrow (a warning), or comfortably
ahead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fieldhall.schemas import Matter, load_catalog

__all__ = [
    "CATALOG_VERSION",
    "DAY_MINUTES",
    "STORIES",
    "CasePlan",
    "PlanError",
    "Step",
    "build_plan",
    "decision_order",
]

CATALOG_VERSION = "2026.1"
DAY_MINUTES = 540  # 08:30 to 17:30

# The material a matter's one-time notice names (missing at filing, not deferrable), and
# the material a matter may defer at acceptance (容缺) where the catalog allows one.
NOTICE_ON = {
    "senior_citizen_card": "photo",
    "senior_bus_card": "photo",
    "old_age_allowance": "bank_card",
    "real_estate_registration": "transfer_contract",
    "resident_medical_insurance": "id_card",
    "social_security_card": "photo",
    "housing_fund_withdrawal": "bank_card",
    "gas_account_opening": "property_proof",
    "enterprise_change": "resolution",
}
DEFERRABLE = {
    "old_age_allowance": "hukou_booklet",
    "real_estate_registration": "tax_certificate",
    "resident_medical_insurance": "hukou_booklet",
    "housing_fund_withdrawal": "reason_proof",
    "enterprise_change": "amended_articles",
}
PROBLEMS = {
    "photo": "缺少本人近期免冠证件照（白底），请补拍",
    "bank_card": "缺少本人银行卡照片，无法核对代发账号",
    "transfer_contract": "缺少不动产买卖合同",
    "id_card": "身份证照片反光，号码无法辨认，请重新拍摄",
    "property_proof": "缺少用气地址的房屋产权证明",
    "resolution": "缺少股东会决议",
    "hukou_booklet": "户口簿本人页容缺后补",
    "tax_certificate": "完税证明容缺后补",
    "reason_proof": "购房合同（提取原因证明）容缺后补",
    "amended_articles": "章程修正案容缺后补（PDF）",
}
# Who denies which matter, and why (a decision of that department's first step).
DENIALS = {
    "real_estate_registration": ("taxation", "存在欠缴税款，暂不能办理转移登记"),
    "housing_fund_withdrawal": (
        "housing_fund_center",
        "账户存在未结清的公积金贷款，不符合提取条件",
    ),
    "old_age_allowance": ("civil_affairs", "经核查已享受其他高龄补贴，不得重复领取"),
}
REFUSALS = {
    "senior_citizen_card": (
        "申请人户籍及居住地均不在本辖区，不属于本机关受理范围",
        "《中华人民共和国行政许可法》第三十二条第一款第（二）项",
    ),
    "old_age_allowance": (
        "申请人户籍不在本区，应向户籍所在地街道办事处申请",
        "《汉滨区高龄津贴发放管理办法》第五条（演示）",
    ),
    "gas_account_opening": (
        "用气地址不在管道天然气覆盖范围内",
        "《城镇燃气管理条例》第十七条",
    ),
}


class PlanError(ValueError):
    """Raised when a story does not fit in the working days before the anchor day."""


@dataclass(frozen=True, slots=True)
class Step:
    """One thing that happens to a case: ``action`` is ``file``, ``supplement`` or
    ``delivery`` (the agent's device) or a staff action of the workflow, by ``by``."""

    day: int  # working days before the anchor day
    minute: int  # minutes after 08:30 Asia/Shanghai
    action: str
    by: str | None = None
    body: Mapping[str, Any] | None = None
    materials: tuple[str, ...] = ()  # a supplement's materials
    answers: str | None = None  # a supplement answers the "notice" or the "deficiency"
    due_in_days: int | None = None  # deficiencies are due this many days after acceptance
    rating: int | None = None  # a delivery's rating


@dataclass(frozen=True, slots=True)
class CasePlan:
    number: int
    agent: str  # the agent's slug
    matter: str
    channel: str
    story: str
    missing: tuple[str, ...]  # required materials not photographed at filing
    steps: tuple[Step, ...]


@dataclass
class _Script:
    day: int
    minute: int
    steps: list[Step] = field(default_factory=list)

    def add(self, action: str, *, after: int = 35, **kw: Any) -> None:
        if self.steps:
            self.minute += after
            while self.minute > DAY_MINUTES:
                if self.day == 0:
                    raise PlanError(f"{action} would happen after the anchor day")
                self.day -= 1
                self.minute = 20 + (self.minute - DAY_MINUTES) % 60
        self.steps.append(Step(self.day, self.minute, action, **kw))

    def next_day(self, days: int = 1, minute: int = 40) -> None:
        if self.day - days < 0:
            raise PlanError("a story runs past the anchor day")
        self.day -= days
        self.minute = minute - 35  # the next add() moves on by its own gap


def decision_order(matter: Matter) -> list[tuple[str, str]]:
    """Every (step, department) decision of ``matter`` in an order the workflow accepts:
    sequential steps in the catalog's order, parallel ones (并联审批) the other way round
    (any order is allowed, and the demo shows it)."""
    order = []
    for step in matter.steps:
        departments = list(step.departments)
        if step.mode == "parallel":
            departments.reverse()
        order += [(step.id, d) for d in departments]
    return order


# ---------------------------------------------------------------------- the story pieces


def _approver(department: str) -> str:
    return f"approver.{department}"


def _notice(s: _Script, matter: Matter) -> None:
    material = NOTICE_ON[matter.id]
    item = {"material_id": material, "problem": PROBLEMS[material]}
    s.add("issue_notice", by="clerk", body={"items": [item], "reason": "一次性告知补正材料"})


def _supplement(s: _Script, materials: tuple[str, ...], answers: str) -> None:
    s.next_day()
    s.add("supplement", materials=materials, answers=answers)


def _accept(s: _Script, matter: Matter, *, deferred: bool) -> None:
    s.add("pass_pre_review", by="clerk", body={"reason": "材料齐全，预审通过"})
    if deferred:
        material = DEFERRABLE[matter.id]
        item = {"material_id": material, "problem": PROBLEMS[material]}
        s.add("accept_with_deficiencies", by="clerk", body={"items": [item]}, due_in_days=10)
    else:
        s.add("accept", by="clerk", body={"reason": "予以受理"})


def _decide(s: _Script, matter: Matter, count: int | None = None, *, gap: int = 50) -> None:
    for step_id, department in decision_order(matter)[:count]:
        body = {"decision": "approved", "step_id": step_id, "reason": "审核通过"}
        s.add("decide_step", by=_approver(department), body=body, after=gap)


def _deny(s: _Script, matter: Matter) -> None:
    department, reason = DENIALS[matter.id]
    for step_id, decider in decision_order(matter):
        if decider == department:
            body = {"decision": "denied", "step_id": step_id, "reason": reason}
            s.add("decide_step", by=_approver(department), body=body, after=50)
            return
        body = {"decision": "approved", "step_id": step_id, "reason": "审核通过"}
        s.add("decide_step", by=_approver(decider), body=body, after=50)


def _result(s: _Script) -> None:
    s.add("mark_result_ready", by="clerk", body={"reason": "办理结果已出具"}, after=60)


def _deliver(s: _Script, how: str, rating: int) -> None:
    if how == "agent":
        s.next_day(minute=90)
        s.add("delivery", rating=rating)
    elif how == "mail":
        s.add(
            "record_delivery",
            by="clerk",
            body={"method": "mail", "recipient_relation": "本人", "rating": rating},
        )
    else:
        s.next_day(minute=120)
        s.add(
            "record_delivery",
            by="clerk",
            body={"method": "pickup", "recipient_relation": "本人", "rating": rating},
        )


def _close(s: _Script) -> None:
    s.add("close", by="clerk", body={"reason": "已送达，办结归档"}, after=90)


# ---------------------------------------------------------------------- the stories

Story = Callable[[_Script, Matter], tuple[str, ...]]


def fresh(s: _Script, m: Matter) -> tuple[str, ...]:
    s.add("file")
    return ()


def pre_reviewed(s: _Script, m: Matter) -> tuple[str, ...]:
    s.add("file")
    s.add("pass_pre_review", by="clerk", body={"reason": "材料齐全，预审通过"}, after=70)
    return ()


def noticed(s: _Script, m: Matter) -> tuple[str, ...]:
    s.add("file")
    _notice(s, m)
    return (NOTICE_ON[m.id],)


def corrected(s: _Script, m: Matter) -> tuple[str, ...]:
    s.add("file")
    _notice(s, m)
    _supplement(s, (NOTICE_ON[m.id],), "notice")
    return (NOTICE_ON[m.id],)


def accepted(s: _Script, m: Matter) -> tuple[str, ...]:
    s.add("file")
    _accept(s, m, deferred=False)
    _decide(s, m, 1)
    return ()


def parallel_half(s: _Script, m: Matter) -> tuple[str, ...]:
    """In parallel approval (并联审批): one department of the joint step has decided."""
    s.add("file")
    _accept(s, m, deferred=False)
    order = decision_order(m)
    parallel = {step.id for step in m.steps if step.mode == "parallel"}
    first_parallel = next(i for i, (step_id, _) in enumerate(order) if step_id in parallel)
    _decide(s, m, first_parallel + 1)
    return ()


def deferred(s: _Script, m: Matter) -> tuple[str, ...]:
    s.add("file")
    _accept(s, m, deferred=True)
    _decide(s, m, 1)
    return (DEFERRABLE[m.id],)


def deferred_supplied(s: _Script, m: Matter) -> tuple[str, ...]:
    s.add("file")
    _accept(s, m, deferred=True)
    _supplement(s, (DEFERRABLE[m.id],), "deficiency")
    _decide(s, m, 1)
    return (DEFERRABLE[m.id],)


def notice_in_approval(s: _Script, m: Matter) -> tuple[str, ...]:
    """After acceptance the approver finds a photo unreadable: the clock stops again."""
    s.add("file")
    _accept(s, m, deferred=False)
    _decide(s, m, 1)
    item = {"material_id": "id_card", "problem": PROBLEMS["id_card"]}
    s.add("issue_notice", by="clerk", body={"items": [item], "reason": "审批中发现材料问题"})
    return ()


def refused(s: _Script, m: Matter) -> tuple[str, ...]:
    reason, basis = REFUSALS[m.id]
    s.add("file")
    s.add("refuse", by="clerk", body={"reason": reason, "legal_basis": basis}, after=80)
    return ()


def withdrawn(s: _Script, m: Matter) -> tuple[str, ...]:
    s.add("file")
    _notice(s, m)
    s.next_day()
    s.add("withdraw", by="clerk", body={"reason": "申请人家属来电，申请人已在异地办理，撤回申请"})
    return (NOTICE_ON[m.id],)


def approved(s: _Script, m: Matter) -> tuple[str, ...]:
    s.add("file")
    _accept(s, m, deferred=False)
    _decide(s, m)
    return ()


def denied(s: _Script, m: Matter) -> tuple[str, ...]:
    s.add("file")
    _accept(s, m, deferred=False)
    _deny(s, m)
    return ()


def result_ready(s: _Script, m: Matter) -> tuple[str, ...]:
    approved(s, m)
    _result(s)
    return ()


def _delivered(how: str, rating: int, *, close: bool) -> Story:
    def story(s: _Script, m: Matter) -> tuple[str, ...]:
        approved(s, m)
        _result(s)
        _deliver(s, how, rating)
        if close:
            _close(s)
        return ()

    return story


def denied_picked_up(s: _Script, m: Matter) -> tuple[str, ...]:
    """A denial is a result too: the decision letter is picked up and the case closed."""
    denied(s, m)
    _result(s)
    _deliver(s, "pickup", 3)
    _close(s)
    return ()


def full_path(s: _Script, m: Matter) -> tuple[str, ...]:
    """Dazhou's hospital case (MISSION): notice, the device's supplement, acceptance with a
    deferred paper, parallel approval, the deferred paper, the result handed over at the
    bedside with the recipient's signature and a rating, closed."""
    s.add("file")
    _notice(s, m)
    _supplement(s, (NOTICE_ON[m.id],), "notice")
    _accept(s, m, deferred=True)
    order = decision_order(m)
    _decide(s, m, len(order) - 1)
    _supplement(s, (DEFERRABLE[m.id],), "deficiency")
    _decide_last(s, m)
    _result(s)
    _deliver(s, "agent", 5)
    _close(s)
    return (NOTICE_ON[m.id], DEFERRABLE[m.id])


def closed_late(s: _Script, m: Matter) -> tuple[str, ...]:
    """Each department takes longer than the whole promised limit: concluded late (the
    on-time rate shows it), mailed, rated poorly, closed."""
    s.add("file")
    _accept(s, m, deferred=False)
    for step_id, department in decision_order(m):
        s.next_day(m.limits.promised_days + 1)
        body = {"decision": "approved", "step_id": step_id, "reason": "审核通过（已超承诺时限）"}
        s.add("decide_step", by=_approver(department), body=body)
    _result(s)
    _deliver(s, "mail", 2)
    _close(s)
    return ()


def _decide_last(s: _Script, m: Matter) -> None:
    step_id, department = decision_order(m)[-1]
    body = {"decision": "approved", "step_id": step_id, "reason": "审核通过，准予办理"}
    s.add("decide_step", by=_approver(department), body=body, after=50)


def in_approval_slow(s: _Script, m: Matter) -> tuple[str, ...]:
    """Accepted and stuck in approval: placed days ago, it is overdue (超期)."""
    return accepted(s, m)


def complaint_open(s: _Script, m: Matter) -> tuple[str, ...]:
    """Accepted long ago and stuck: the applicant complains at the 办不成事 window."""
    accepted(s, m)
    s.next_day(2)
    s.add(
        "escalate_complaint",
        by="clerk",
        body={"complexity": "general", "reason": "办不成事：材料齐全，超过承诺时限仍未办结"},
    )
    return ()


def complaint_answered(s: _Script, m: Matter) -> tuple[str, ...]:
    s.add("file")
    s.next_day(2)
    s.add(
        "escalate_complaint",
        by="supervisor",
        body={"complexity": "simple", "reason": "办不成事：提交两天无人预审"},
    )
    s.add("answer_complaint", by="supervisor", body={"answer": "已督办综合窗口当日预审"})
    s.add("pass_pre_review", by="clerk", body={"reason": "材料齐全，预审通过"})
    return ()


STORIES: dict[str, Story] = {
    "fresh": fresh,
    "pre_reviewed": pre_reviewed,
    "noticed": noticed,
    "corrected": corrected,
    "accepted": accepted,
    "parallel_half": parallel_half,
    "deferred": deferred,
    "deferred_supplied": deferred_supplied,
    "notice_in_approval": notice_in_approval,
    "refused": refused,
    "withdrawn": withdrawn,
    "approved": approved,
    "denied": denied,
    "result_ready": result_ready,
    "delivered_agent": _delivered("agent", 5, close=False),
    "delivered_mail": _delivered("mail", 4, close=False),
    "closed_agent": _delivered("agent", 5, close=True),
    "closed_agent_fair": _delivered("agent", 3, close=True),
    "closed_mail": _delivered("mail", 5, close=True),
    "closed_pickup": _delivered("pickup", 4, close=True),
    "denied_picked_up": denied_picked_up,
    "full_path": full_path,
    "closed_late": closed_late,
    "overdue": in_approval_slow,
    "complaint_open": complaint_open,
    "complaint_answered": complaint_answered,
}

# Who files what, where, and what becomes of it: (agent, matter, channel, story, working
# days before the anchor day, minute after 08:30). "near" cases are placed from the
# matter's promised limit so that the deadline is the next working day (a warning). A "hall"
# case is one the agent filed at the hall's window with the resident there (one trip).
_S = "zhao-min"  # the mall station's staff member
CASES: tuple[tuple[str, str, str, str, int | str, int], ...] = (
    # closed: the whole way, most on time
    ("wang-fang", "senior_citizen_card", "home_visit", "closed_agent", 29, 30),
    ("li-ming", "senior_bus_card", "hospital", "closed_agent", 27, 60),
    ("zhang-wei", "social_security_card", "home_visit", "closed_agent", 26, 45),
    ("chen-jing", "old_age_allowance", "home_visit", "closed_agent_fair", 28, 20),
    ("yang-lei", "resident_medical_insurance", "hospital", "closed_agent", 24, 90),
    ("liu-yang", "gas_account_opening", "home_visit", "closed_agent", 23, 30),
    ("wang-fang", "real_estate_registration", "hospital", "full_path", 25, 40),
    ("chen-jing", "old_age_allowance", "home_visit", "closed_agent", 22, 120),
    ("li-ming", "senior_citizen_card", "hall", "closed_pickup", 21, 60),
    ("zhang-wei", "housing_fund_withdrawal", "hall", "denied_picked_up", 20, 100),
    ("yang-lei", "senior_bus_card", "home_visit", "closed_agent", 19, 200),
    ("liu-yang", "social_security_card", "home_visit", "closed_mail", 18, 30),
    ("wang-fang", "senior_citizen_card", "home_visit", "closed_agent", 16, 50),
    ("chen-jing", "resident_medical_insurance", "home_visit", "closed_agent", 15, 300),
    ("li-ming", "social_security_card", "home_visit", "closed_late", 27, 200),
    # the mall station event (吾悦广场流动服务站), all on one day
    (_S, "housing_fund_withdrawal", "mobile_station", "closed_mail", 12, 30),
    (_S, "social_security_card", "mobile_station", "closed_mail", 12, 50),
    (_S, "enterprise_change", "mobile_station", "deferred_supplied", 12, 70),
    (_S, "gas_account_opening", "mobile_station", "delivered_mail", 12, 90),
    (_S, "resident_medical_insurance", "mobile_station", "result_ready", 12, 110),
    (_S, "senior_bus_card", "mobile_station", "closed_mail", 12, 130),
    (_S, "senior_citizen_card", "mobile_station", "corrected", 12, 150),
    (_S, "housing_fund_withdrawal", "mobile_station", "denied", 12, 170),
    (_S, "enterprise_change", "mobile_station", "approved", 12, 190),
    (_S, "social_security_card", "mobile_station", "withdrawn", 12, 210),
    (_S, "gas_account_opening", "mobile_station", "overdue", 12, 230),
    # delivered, waiting to be closed
    ("zhang-wei", "senior_citizen_card", "home_visit", "delivered_agent", 9, 60),
    ("yang-lei", "old_age_allowance", "hospital", "delivered_agent", 11, 40),
    ("li-ming", "social_security_card", "hospital", "delivered_agent", 8, 100),
    # result ready: the agent will bring it
    ("wang-fang", "senior_bus_card", "home_visit", "result_ready", 5, 60),
    ("liu-yang", "resident_medical_insurance", "home_visit", "result_ready", 4, 200),
    ("chen-jing", "gas_account_opening", "home_visit", "result_ready", 7, 90),
    # decided
    ("li-ming", "social_security_card", "home_visit", "approved", 3, 120),
    ("yang-lei", "real_estate_registration", "home_visit", "denied", 6, 60),
    ("chen-jing", "old_age_allowance", "home_visit", "denied", 10, 100),
    ("zhang-wei", "real_estate_registration", "hall", "approved", 4, 30),
    # in approval: on time, a warning (due tomorrow), overdue
    ("wang-fang", "real_estate_registration", "hospital", "parallel_half", 2, 60),
    ("liu-yang", "real_estate_registration", "home_visit", "parallel_half", 1, 150),
    ("yang-lei", "social_security_card", "home_visit", "accepted", 1, 60),
    ("chen-jing", "old_age_allowance", "hospital", "accepted", 3, 200),
    ("li-ming", "senior_citizen_card", "home_visit", "near:accepted", "near", 60),
    ("zhang-wei", "real_estate_registration", "home_visit", "near:accepted", "near", 100),
    ("liu-yang", "social_security_card", "home_visit", "near:accepted", "near", 140),
    ("wang-fang", "senior_citizen_card", "home_visit", "overdue", 8, 30),
    ("yang-lei", "social_security_card", "home_visit", "overdue", 14, 90),
    ("li-ming", "housing_fund_withdrawal", "home_visit", "complaint_open", 13, 60),
    ("chen-jing", "real_estate_registration", "hospital", "complaint_open", 17, 50),
    ("zhang-wei", "gas_account_opening", "home_visit", "notice_in_approval", 2, 100),
    # accepted with deficiencies (容缺受理), and the deferred paper supplied
    ("liu-yang", "housing_fund_withdrawal", "home_visit", "deferred", 2, 30),
    ("chen-jing", "resident_medical_insurance", "home_visit", "deferred", 3, 60),
    ("yang-lei", "old_age_allowance", "home_visit", "deferred", 6, 150),
    ("wang-fang", "resident_medical_insurance", "hospital", "deferred_supplied", 5, 100),
    # one-time notice (一次性告知): waiting for the applicant, and answered
    ("li-ming", "senior_citizen_card", "home_visit", "noticed", 2, 200),
    ("zhang-wei", "old_age_allowance", "home_visit", "noticed", 4, 90),
    ("yang-lei", "social_security_card", "hospital", "noticed", 1, 30),
    ("chen-jing", "gas_account_opening", "home_visit", "noticed", 0, 100),
    ("liu-yang", "senior_bus_card", "home_visit", "corrected", 3, 30),
    ("wang-fang", "housing_fund_withdrawal", "home_visit", "corrected", 2, 250),
    # pre-reviewed, waiting for acceptance
    ("zhang-wei", "senior_bus_card", "home_visit", "pre_reviewed", 0, 60),
    ("yang-lei", "resident_medical_insurance", "home_visit", "pre_reviewed", 0, 200),
    ("li-ming", "gas_account_opening", "hall", "pre_reviewed", 1, 260),
    # refused, withdrawn
    ("wang-fang", "senior_citizen_card", "home_visit", "refused", 7, 200),
    ("chen-jing", "old_age_allowance", "hall", "refused", 9, 60),
    ("liu-yang", "gas_account_opening", "home_visit", "refused", 4, 300),
    ("zhang-wei", "resident_medical_insurance", "home_visit", "withdrawn", 6, 300),
    ("yang-lei", "senior_bus_card", "hospital", "withdrawn", 3, 330),
    # complaints on waiting cases
    ("liu-yang", "social_security_card", "home_visit", "complaint_answered", 5, 300),
    # just arrived from the field
    ("wang-fang", "old_age_allowance", "home_visit", "fresh", 0, 300),
    ("li-ming", "real_estate_registration", "hospital", "fresh", 0, 360),
    ("zhang-wei", "social_security_card", "home_visit", "fresh", 0, 400),
    ("liu-yang", "housing_fund_withdrawal", "home_visit", "fresh", 0, 420),
    ("chen-jing", "senior_citizen_card", "home_visit", "fresh", 0, 450),
    ("yang-lei", "gas_account_opening", "home_visit", "fresh", 0, 470),
    ("wang-fang", "resident_medical_insurance", "hall", "fresh", 0, 500),
)


def _near_start(matter: Matter, anchor_is_today: bool) -> int:
    """The day to file and accept on so that one working day of the promised limit is left
    (a warning) when the demo is seeded: the clock counts a working day once it has ended (at
    midnight), so the case is accepted ``promised - 1`` working days before the anchor day
    (due the next working day) when the anchor day is over, and one day earlier (due on the
    anchor day itself) when the demo runs on the anchor day's evening."""
    return max(0, matter.limits.promised_days - (0 if anchor_is_today else 1))


def build_plan(
    catalog_version: str = CATALOG_VERSION, *, anchor_is_today: bool = False
) -> list[CasePlan]:
    """Every case of the demo with its steps (raises :class:`PlanError` if one does not fit).

    ``anchor_is_today``: the demo runs on the anchor day, after its working hours."""
    catalog = load_catalog(catalog_version)
    plans = []
    for number, (agent, matter_id, channel, story, day, minute) in enumerate(CASES, start=1):
        matter = catalog.matter(matter_id)
        name = story.removeprefix("near:")
        start = _near_start(matter, anchor_is_today) if day == "near" else int(day)
        script = _Script(start, minute)
        missing = STORIES[name](script, matter)
        if channel not in matter.channels:
            raise PlanError(f"case {number}: {matter_id} is not filed through {channel}")
        plans.append(
            CasePlan(number, agent, matter_id, channel, name, missing, tuple(script.steps))
        )
    return plans
