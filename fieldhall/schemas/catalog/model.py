"""The service catalog (事项清单) as frozen values, built from one catalog version file.

Shape (ARCHITECTURE, "Documents in /sync/field")::

    {"version", "published_at", "departments": {"<id>": {"zh", "en"}},
     "matters": [{"id", "version", "name": {"zh", "en"}, "departments": [...],
                  "steps": [{"id", "departments": [...], "mode": "sequential | parallel"}],
                  "channels": [...], "form_schema": {...},
                  "materials": [{"id", "name", "required", "deferrable", "accept", "max_count"}],
                  "limits": {"legal_days", "promised_days"}, "delivery": [...],
                  "cross_region": bool}]}

Steps run in the order listed; a ``parallel`` step's departments review at the same time
(并联审批) and the step is done when all of them have decided; a ``sequential`` step's
departments decide one after another in the order listed. Time limits count working days.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fieldhall.schemas.errors import UnknownMatter

__all__ = [
    "CHANNELS",
    "CONSENT_MATERIAL_ID",
    "DELIVERY_METHODS",
    "Catalog",
    "Limits",
    "Material",
    "Matter",
    "Names",
    "Step",
]

CHANNELS = ("home_visit", "hospital", "mobile_station", "hall")
DELIVERY_METHODS = ("mail", "agent", "pickup")
# Every matter lists this material: the image of the applicant's consent signature that a
# case's ``consent.attachment`` names (so the hall judges its file type like any other).
CONSENT_MATERIAL_ID = "consent_signature"


@dataclass(frozen=True, slots=True)
class Names:
    zh: str
    en: str

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Names:
        return cls(zh=raw["zh"], en=raw["en"])


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    departments: tuple[str, ...]
    mode: Literal["sequential", "parallel"]


@dataclass(frozen=True, slots=True)
class Material:
    id: str
    name: Names
    required: bool
    # 容缺: may be missing at acceptance and follow by a due date (accept with deficiencies).
    deferrable: bool
    accept: tuple[str, ...]
    max_count: int


@dataclass(frozen=True, slots=True)
class Limits:
    legal_days: int  # 法定时限, working days
    promised_days: int  # 承诺时限, working days; 0 = concluded on the day of acceptance (即办)


@dataclass(frozen=True, slots=True)
class Matter:
    id: str
    version: str
    name: Names
    departments: tuple[str, ...]
    steps: tuple[Step, ...]
    channels: tuple[str, ...]
    # A JSON Schema 2020-12 in the portable subset; shared with the validators, never mutate.
    form_schema: Mapping[str, Any] = field(repr=False)
    materials: tuple[Material, ...]
    limits: Limits
    delivery: tuple[str, ...]
    cross_region: bool

    def material(self, material_id: str) -> Material | None:
        """The material of this id, or ``None``."""
        return next((m for m in self.materials if m.id == material_id), None)

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Matter:
        return cls(
            id=raw["id"],
            version=raw["version"],
            name=Names.of(raw["name"]),
            departments=tuple(raw["departments"]),
            steps=tuple(
                Step(id=s["id"], departments=tuple(s["departments"]), mode=s["mode"])
                for s in raw["steps"]
            ),
            channels=tuple(raw["channels"]),
            form_schema=raw["form_schema"],
            materials=tuple(
                Material(
                    id=m["id"],
                    name=Names.of(m["name"]),
                    required=m["required"],
                    deferrable=m["deferrable"],
                    accept=tuple(m["accept"]),
                    max_count=m["max_count"],
                )
                for m in raw["materials"]
            ),
            limits=Limits(
                legal_days=raw["limits"]["legal_days"],
                promised_days=raw["limits"]["promised_days"],
            ),
            delivery=tuple(raw["delivery"]),
            cross_region=raw["cross_region"],
        )


@dataclass(frozen=True, slots=True)
class Catalog:
    version: str
    published_at: str
    departments: Mapping[str, Names]
    matters: tuple[Matter, ...]
    _document: Mapping[str, Any] = field(repr=False, compare=False)

    def matter(self, matter_id: str) -> Matter:
        """The matter of this id, or :class:`UnknownMatter`."""
        for matter in self.matters:
            if matter.id == matter_id:
                return matter
        raise UnknownMatter(f"catalog {self.version} has no matter {matter_id!r}")

    def as_json(self) -> dict[str, Any]:
        """The catalog document exactly as published (a fresh copy, safe to change)."""
        return copy.deepcopy(dict(self._document))

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Catalog:
        return cls(
            version=raw["version"],
            published_at=raw["published_at"],
            departments={key: Names.of(value) for key, value in raw["departments"].items()},
            matters=tuple(Matter.of(m) for m in raw["matters"]),
            _document=raw,
        )
