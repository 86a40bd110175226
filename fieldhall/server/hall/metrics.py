"""``/metrics`` for Prometheus, with ``prometheus-client``: a collector that reads the hall's
state on every scrape (the projector's position and lag, the outbox of unpublished case
events, open cases by state; open visit requests by state and urgency, their lapsed timers
by milestone, escalations by step and the escalation sweep's last run), counters of
documents written through ``/sync``, and the HTTP requests served, by surface, endpoint,
method and status.

Each app has a registry of its own (never the process-global one), so that several apps in
one process — tests, mostly — do not register the same names twice or read each other's
counts. Label values come from fixed sets: a client cannot grow the series by inventing
paths or database names.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import col, select

from fieldhall.field_app_api.service import CATALOG_DB, FIELD_DB
from fieldhall.sync.policy import Principal

from .projector import Projector, unpublished_events
from .tables import HallCase
from .visits import VisitSweeper
from .visits.figures import escalations_by_step, lapsed_timers, open_requests

__all__ = ["HallCollector", "HallMetrics", "VisitCollector", "classify"]

# The CouchDB endpoints a replication uses; any other `/sync/<db>/<x>` is a document.
SYNC_ENDPOINTS = frozenset(
    {
        "_all_docs",
        "_bulk_docs",
        "_bulk_get",
        "_changes",
        "_ensure_full_commit",
        "_local",
        "_revs_diff",
        "_design",
    }
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "COPY"})
# Replication requests run from milliseconds (revs_diff) to a longpoll's whole timeout.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class HallCollector(Collector):
    """Reads the hall's figures when Prometheus scrapes, so they are never stale and cost
    nothing between scrapes."""

    def __init__(self, projector: Projector) -> None:
        self.projector = projector

    def collect(self) -> Iterable[Metric]:
        lag = self.projector.lag()
        with self.projector.field.read_session() as session:
            by_state = session.exec(
                select(HallCase.state, func.count())
                .where(col(HallCase.closed).is_(False))
                .group_by(col(HallCase.state))
            ).all()
        yield GaugeMetricFamily(
            "fieldhall_projector_checkpoint_seq",
            "Sequence of /sync/field the projector has projected up to.",
            value=lag.checkpoint,
        )
        yield GaugeMetricFamily(
            "fieldhall_field_update_seq", "Latest sequence of /sync/field.", value=lag.update_seq
        )
        yield GaugeMetricFamily(
            "fieldhall_projector_lag",
            "Changes of /sync/field not projected yet (update_seq - checkpoint).",
            value=lag.lag,
        )
        yield CounterMetricFamily(
            "fieldhall_projector_documents",
            "Device documents projected by this process.",
            value=self.projector.projected_total,
        )
        yield GaugeMetricFamily(
            "fieldhall_case_events_unpublished",
            "Signed case events not yet written into /sync/field (the outbox).",
            value=unpublished_events(self.projector.field),
        )
        open_cases = GaugeMetricFamily(
            "fieldhall_cases_open", "Cases not in a final state, by state.", labels=["state"]
        )
        for state, count in by_state:
            open_cases.add_metric([state], count)
        yield open_cases


class VisitCollector(Collector):
    """Home-visit requests and their escalation sweep, read at scrape time. Timers are read
    at the sweep's clock (the visit service's), as the sweep would read them."""

    def __init__(self, sweeper: VisitSweeper) -> None:
        self.sweeper = sweeper

    def collect(self) -> Iterable[Metric]:
        visits = self.sweeper.visits
        at = visits.clock()
        with visits.field.read_session() as session:
            by_state = open_requests(session)
            lapsed, _ = lapsed_timers(session, visits.calendar, at)
            steps = escalations_by_step(session)
        open_family = GaugeMetricFamily(
            "fieldhall_visit_requests_open",
            "Visit requests not done nor cancelled, by state and urgency.",
            labels=["state", "urgency"],
        )
        for state, urgency, count in by_state:
            open_family.add_metric([state, urgency], count)
        yield open_family
        lapsed_family = GaugeMetricFamily(
            "fieldhall_visit_timers_lapsed",
            "Timers of open visit requests past due and not met, by milestone.",
            labels=["milestone"],
        )
        for milestone in ("dispatched", "taken", "on_site", "closed"):
            lapsed_family.add_metric([milestone], lapsed.get(milestone, 0))
        yield lapsed_family
        steps_family = CounterMetricFamily(
            "fieldhall_visit_escalations",
            "Escalations the sweep recorded, by step of the ladder (1 phone reminder, "
            "2 written notice, 3 talk, 4 on-site supervision).",
            labels=["step"],
        )
        for step in range(1, 5):
            steps_family.add_metric([str(step)], steps.get(step, 0))
        yield steps_family
        stats = self.sweeper.stats
        yield CounterMetricFamily(
            "fieldhall_visit_sweeps",
            "Escalation sweeps run by this process.",
            value=stats.runs,
        )
        yield CounterMetricFamily(
            "fieldhall_visit_sweep_failures",
            "Escalation sweeps that failed in this process.",
            value=stats.failures,
        )
        if stats.last_seconds is not None:
            yield GaugeMetricFamily(
                "fieldhall_visit_sweep_duration_seconds",
                "How long the last escalation sweep took.",
                value=stats.last_seconds,
            )
        if stats.last_success_at is not None:
            yield GaugeMetricFamily(
                "fieldhall_visit_sweep_last_success_timestamp_seconds",
                "When the last escalation sweep succeeded (Unix time): alert on time() minus it.",
                value=stats.last_success_at.timestamp(),
            )


class HallMetrics:
    """The app's registry and the instruments the server feeds."""

    def __init__(self, projector: Projector, sweeper: VisitSweeper | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(HallCollector(projector))
        if sweeper is not None:
            self.registry.register(VisitCollector(sweeper))
        self.documents_written = Counter(
            "fieldhall_sync_documents_written",
            "Documents (revisions) stored through /sync, by database and writer.",
            ["db", "writer"],
            registry=self.registry,
        )
        self.requests = Counter(
            "fieldhall_http_requests",
            "HTTP requests answered, by surface, endpoint, method and status.",
            ["surface", "endpoint", "method", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "fieldhall_http_request_duration_seconds",
            "Time to answer an HTTP request (a longpoll feed counts its whole wait).",
            ["surface", "endpoint"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )

    def render(self, accept: str | None) -> tuple[bytes, str]:
        """The exposition the scraper asked for (OpenMetrics or the text format 0.0.4)."""
        encoder, content_type = choose_encoder(accept or "")
        if content_type.startswith("text/"):
            # Litestar appends the charset to text/* media types itself.
            content_type = content_type.replace("; charset=utf-8", "")
        return encoder(self.registry), content_type

    # ------------------------------------------------------------------ sync writes

    def on_commit(
        self, database: str, principal: Principal, docs: Sequence[Mapping[str, Any]]
    ) -> None:
        """A store commit listener: counts what each write stored."""
        db = database if database in (FIELD_DB, CATALOG_DB) else "other"
        writer = "admin" if principal.is_admin else "device"
        self.documents_written.labels(db, writer).inc(len(docs))

    # ------------------------------------------------------------------ requests

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """ASGI middleware counting and timing every HTTP request."""

        async def observe(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            # The path as requested: routing to a mounted app (/sync) rewrites scope["path"].
            raw_path = scope.get("raw_path")
            path = raw_path.decode("latin-1") if raw_path else scope["path"]
            surface, endpoint = classify(path)
            method = scope["method"] if scope["method"] in METHODS else "other"
            status = 500  # what the client gets if the app raises before answering
            started = time.perf_counter()

            async def send_and_note(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                await send(message)

            try:
                await app(scope, receive, send_and_note)
            finally:
                self.requests.labels(surface, endpoint, method, str(status)).inc()
                self.request_seconds.labels(surface, endpoint).observe(
                    time.perf_counter() - started
                )

        return observe


def classify(path: str) -> tuple[str, str]:
    """``(surface, endpoint)`` of a request path, both from fixed sets."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "ui", "root"
    head = parts[0]
    if head == "sync":
        if len(parts) == 1:
            return "sync", "server"
        if len(parts) == 2:
            return "sync", "db"
        return "sync", parts[2] if parts[2] in SYNC_ENDPOINTS else "doc"
    if head == "api":
        return "api", "admin" if len(parts) > 2 and parts[2] == "admin" else "device"
    if head in ("health", "metrics", "schema"):
        return "ops", head
    return "ui", "page"
