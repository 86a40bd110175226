"""The demo's home-visit requests (上门服务工单), as a plan: who called (the 12345 hotline,
the community, a family member), how urgent, which grid or agent the window dispatched it
to, and what the agent's phone reported — taken, on site, done (with the case filed on the
visit), could not complete — or the window's cancellation, with the escalation sweeps that
ran in between.

Pure: no I/O. Older requests are placed like the cases (working days before the anchor day,
minutes after 08:30 Asia/Shanghai); the open ones are **live**: minutes before the demo was
seeded (the hotline answers every day), so that their timers are read at the hour they
belong to — the pending one has just lapsed its 5-minute dispatch timer, the urgent one is
an hour past its 2 hours to be on site (书面函告), the rest are within their limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .plan import PlanError

__all__ = ["LIVE", "VISITS", "VisitPlan", "VisitStep", "build_visit_plan"]

LIVE = -1  # a step's ``day`` for "minutes relative to the seeding instant" (minute <= 0)

# What an agent's phone reports; the rest are the window's (clerk's) or the sweep's.
DEVICE_ACTIONS = frozenset({"taken", "on_site", "done", "cannot_complete", "file_case"})
STAFF_ACTIONS = frozenset({"create", "dispatch", "cancel"})
ACTIONS = DEVICE_ACTIONS | STAFF_ACTIONS | {"sweep"}


@dataclass(frozen=True, slots=True)
class VisitStep:
    day: int  # working days before the anchor day, or LIVE
    minute: int  # after 08:30 Asia/Shanghai, or (LIVE) relative to the seeding instant
    action: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class VisitPlan:
    number: int
    agent: str  # the slug of the agent whose phone reports (and who may be assigned)
    source: str
    urgency: str
    assign: str | None  # at creation: "agent" (the agent), "grid" (the agent's grid), None
    matter: str | None
    ticket: str | None
    note: str
    expected: str  # the state the steps lead to (the demo tests check it)
    called: VisitStep  # when the resident called: the timers run from it
    steps: tuple[VisitStep, ...]


def _steps(
    day: int, start: int, *moves: tuple[int, str] | tuple[int, str, str]
) -> tuple[VisitStep, ...]:
    """``moves`` are (minutes after the call, action[, note]); the call is at ``start``."""
    made = []
    for move in moves:
        offset, action, *note = move
        made.append(VisitStep(day, start + offset, action, note[0] if note else None))
    return tuple(made)


# (agent, source, urgency, assign, matter, ticket, note, expected, day, minute, moves)
VISITS: tuple[tuple[Any, ...], ...] = (
    # Done on the anchor day, the 老年人优待证 filed at the resident's bedside on the visit.
    (
        "chen-jing", "hotline", "simple", "grid", "senior_citizen_card", "12345-0311",
        "老人卧床，子女在外地，需上门办理老年人优待证", "done", 0, 60,
        ((0, "create"), (20, "taken"), (70, "on_site", "已到老人家中"), (90, "file_case"),
         (100, "done", "已现场采集材料并提交优待证申请")),
    ),
    # Urgent, the family called: on site in 80 minutes, done within the 12 hours.
    (
        "liu-yang", "family", "urgent", "agent", "resident_medical_insurance", None,
        "老人住院，医保待遇中断，家属请求加急上门", "done", 3, 200,
        ((2, "create"), (80, "on_site", "已到医院病房"), (180, "done", "医保参保已代办")),
    ),
    # Dispatched and taken late: the sweep phoned the window (dispatch, 电话提醒), then the
    # grid (take) before anyone took it.
    (
        "zhang-wei", "hotline", "simple", None, "senior_bus_card", "12345-0207",
        "老人腿脚不便，咨询办理老年公交卡", "done", 6, 100,
        ((2, "create"), (8, "dispatch"), (40, "sweep"), (55, "taken"), (120, "on_site"),
         (200, "done", "已告知办理流程并代为预约")),
    ),
    # Nobody home: open for the window to reassign or cancel.
    (
        "wang-fang", "community", "simple", "agent", "old_age_allowance", None,
        "社区反映独居老人高龄津贴未到账", "cannot_complete", 1, 300,
        ((3, "create"), (20, "taken"), (90, "cannot_complete", "家中无人，电话未接通")),
    ),
    # The family brought her to the hall themselves.
    (
        "yang-lei", "family", "simple", "grid", "social_security_card", None,
        "家属代老人申请社保卡补办", "cancelled", 2, 150,
        ((4, "create"), (60, "cancel", "家属已陪同老人到大厅办理")),
    ),
    # Live: the urgent ticket nobody reached in time — step 2 (书面函告), then taken.
    (
        "yang-lei", "hotline", "urgent", "agent", None, "12345-0412",
        "独居老人摔倒后行动困难，需紧急上门核实救助需求", "taken", LIVE, -210,
        ((2, "create"), (125, "sweep"), (185, "sweep"), (195, "taken", "正在赶往")),
    ),
    # Live: on site now.
    (
        "zhang-wei", "hotline", "simple", "agent", "gas_account_opening", "12345-0415",
        "新房入住，老人需办理燃气开户", "on_site", LIVE, -150,
        ((2, "create"), (15, "taken"), (110, "on_site", "已到现场核验房产证明")),
    ),
    # Live: taken, on the way.
    (
        "li-ming", "family", "simple", "agent", "senior_citizen_card", None,
        "子女代父亲预约上门办理老年人优待证", "taken", LIVE, -45,
        ((1, "create"), (15, "taken")),
    ),
    # Live: dispatched to the grid, nobody has taken it yet.
    (
        "wang-fang", "hotline", "simple", "grid", "senior_bus_card", "12345-0418",
        "老人咨询老年公交卡办理，希望上门", "dispatched", LIVE, -12,
        ((2, "create"),),
    ),
    # Live: typed in without a grid; the dispatch timer has just lapsed.
    (
        "chen-jing", "community", "simple", None, None, None,
        "社区网格反映老人需上门办理业务，地址待核实", "pending", LIVE, -8,
        ((1, "create"),),
    ),
)  # fmt: skip


def build_visit_plan() -> list[VisitPlan]:
    plans = []
    for number, row in enumerate(VISITS, start=1):
        agent, source, urgency, assign, matter, ticket, note, expected, day, minute, moves = row
        steps = _steps(day, minute, *moves)
        if steps[0].action != "create" or any(s.action not in ACTIONS for s in steps):
            raise PlanError(f"visit {number}: steps must start with create and name known actions")
        plans.append(
            VisitPlan(
                number,
                agent,
                source,
                urgency,
                assign,
                matter,
                ticket,
                note,
                expected,
                VisitStep(day, minute, "call"),
                steps,
            )
        )
    return plans
