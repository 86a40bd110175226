"""Demo data for ``make run``: a fresh data directory gets a staff admin, grids, agents with
enrollment codes and a mall station, and the credentials are printed. Idempotent: an existing
hall is left as it is."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlmodel import select

from fieldhall.field_app_api.directory import add_agent, ensure_grid, ensure_station
from fieldhall.field_app_api.enrollment import IssuedCode, issue_code
from fieldhall.field_app_api.service import FieldService
from fieldhall.field_app_api.staff import add_staff
from fieldhall.field_app_api.tables import StaffAccount

__all__ = ["DemoHall", "seed_demo"]

GRIDS = [
    ("hb-xincheng-01", "新城街道南环社区网格"),
    ("hb-jiangbei-02", "江北街道网格"),
    ("hb-guanmiao-03", "关庙镇网格"),
]
AGENTS = [
    ("王芳", "hb-xincheng-01"),
    ("李明", "hb-xincheng-01"),
    ("张伟", "hb-jiangbei-02"),
    ("刘洋", "hb-jiangbei-02"),
    ("陈静", "hb-guanmiao-03"),
    ("杨磊", "hb-guanmiao-03"),
]
STATION = ("wuyue-plaza", "吾悦广场流动服务站")


@dataclass
class DemoHall:
    created: bool
    admin: tuple[str, str] | None = None
    codes: list[tuple[str, IssuedCode]] = field(default_factory=list)


def seed_demo(service: FieldService) -> DemoHall:
    with service.session() as session:
        if session.exec(select(StaffAccount)).first() is not None:
            return DemoHall(created=False)
        password = secrets.token_urlsafe(12)
        add_staff(session, "admin", password, "admin", display_name="系统管理员")
        for grid_id, name in GRIDS:
            ensure_grid(session, grid_id, name)
        ensure_station(session, *STATION)
        agents = [add_agent(session, name, grid_id=grid) for name, grid in AGENTS]
        agents.append(add_agent(session, "赵敏", station_id=STATION[0]))
        session.commit()
        codes = [(agent.name, issue_code(session, agent.id)) for agent in agents]
    return DemoHall(created=True, admin=("admin", password), codes=codes)
