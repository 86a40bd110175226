"""``/metrics`` in the Prometheus text exposition format (version 0.0.4), written by hand
until ``prometheus-client`` is a dependency: the projector's position and lag, the outbox
of unpublished case events, and open cases by state."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func
from sqlmodel import col, select

from .projector import Projector, unpublished_events
from .tables import HallCase

__all__ = ["CONTENT_TYPE", "render_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _family(name: str, kind: str, help_text: str, samples: Iterable[tuple[str, float]]) -> str:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines.extend(f"{name}{labels} {value:g}" for labels, value in samples)
    return "\n".join(lines)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(projector: Projector) -> str:
    lag = projector.lag()
    with projector.field.read_session() as session:
        by_state = session.exec(
            select(HallCase.state, func.count())
            .where(col(HallCase.closed).is_(False))
            .group_by(col(HallCase.state))
        ).all()
    families = [
        _family(
            "fieldhall_projector_checkpoint_seq",
            "gauge",
            "Sequence of /sync/field the projector has projected up to.",
            [("", lag.checkpoint)],
        ),
        _family(
            "fieldhall_field_update_seq",
            "gauge",
            "Latest sequence of /sync/field.",
            [("", lag.update_seq)],
        ),
        _family(
            "fieldhall_projector_lag",
            "gauge",
            "Changes of /sync/field not projected yet (update_seq - checkpoint).",
            [("", lag.lag)],
        ),
        _family(
            "fieldhall_projector_documents_total",
            "counter",
            "Device documents projected by this process.",
            [("", projector.projected_total)],
        ),
        _family(
            "fieldhall_case_events_unpublished",
            "gauge",
            "Signed case events not yet written into /sync/field (the outbox).",
            [("", unpublished_events(projector.field))],
        ),
        _family(
            "fieldhall_cases_open",
            "gauge",
            "Cases not in a final state, by state.",
            [(f'{{state="{_label(state)}"}}', count) for state, count in by_state],
        ),
    ]
    return "\n".join(families) + "\n"
