"""Hall benchmark (issue 6, Performance): the projector's throughput and the inbox query's
latency at 200,000 cases, on SQLite and on PostgreSQL; printed as markdown tables and
recorded in ``bench/RESULTS.md``.

    .venv/bin/python bench/hall_bench.py [--quick] [--no-pg]
    fieldhall bench hall [--quick]

(a) **Projector.** A hall served in this process without its background projector. One
enrolled device signs N ``senior_citizen_card`` cases (applicant sealed, chained, signed; an
ID-card JPEG, a portrait and the consent PNG each) and pushes them through ``/sync/field``
(untimed: that is the door's cost, measured by ``bench/field_bench.py``). Then
``Projector.project_pending()`` is timed: every case becomes its ``hall_case`` and
``hall_material`` rows, its clocks, its ``received`` transition with the server-signed
``case_event`` in the outbox, and its audit entries. Target: at least 1,000 cases/s. The
process's CPU time is printed too (cases per CPU-second): on a shared machine the wall-clock
rate says as much about the neighbours as about the projector.

(b) **Inbox.** 200,000 ``hall_case`` rows and their text index are inserted straight into the
hall's tables (two years of a busy hall: most cases concluded, ~40,000 open from the last
weeks, one in twenty of them overdue; names and addresses drawn from small pools, so a name matches
hundreds of cases), then ``list_cases`` — the query behind ``GET /api/v1/cases``
and the web inbox — runs 200 times for each kind of request a clerk makes: the first page,
a state's page, a matter, a grid, the overdue list, a text search, a page deep in the list.
Target: p95 under 50 ms for every kind.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from PIL import Image
from sqlalchemy import insert
from sqlmodel import Session

from fieldhall.field_app_api.client import DeviceClient, Material
from fieldhall.field_app_api.directory import add_agent, ensure_grid
from fieldhall.field_app_api.enrollment import issue_code
from fieldhall.server.app import create_app
from fieldhall.server.hall.queries import CaseFilter, decode_cursor, encode_cursor, list_cases
from fieldhall.server.hall.search import terms_of
from fieldhall.server.hall.tables import HallCase, HallCaseTerm, create_hall_tables
from fieldhall.server.serving import serve_in_thread, uvicorn_config
from fieldhall.server.settings import Settings
from fieldhall.sync.connection import create_store_engine

CATALOG_VERSION = "2026.1"
PG_ADMIN = "host=127.0.0.1 port=5432 dbname=postgres user=postgres"
STATES = [
    ("closed", 150_000),
    ("refused", 6_000),
    ("withdrawn", 4_000),
    ("received", 3_000),
    ("pre_review", 3_000),
    ("notice", 4_000),
    ("accepted", 14_000),
    ("accepted_with_deficiencies", 4_000),
    ("approved", 3_000),
    ("denied", 500),
    ("result_ready", 3_000),
    ("delivered", 500),
]
FINAL = {"closed", "refused", "withdrawn"}
CONCLUDED = {"approved", "denied", "result_ready", "delivered", "closed"}
MATTERS = [
    "senior_citizen_card",
    "real_estate_registration",
    "housing_fund_withdrawal",
    "social_security_card",
    "medical_insurance_enrolment",
    "enterprise_startup",
    "senior_bus_card",
    "gas_account_opening",
    "old_age_allowance",
    "disability_certificate",
    "temporary_assistance",
    "enterprise_change",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "桂兰建国秀英志强淑珍玉梅文华德明凤英丽娟"


# ---------------------------------------------------------------------- databases


@contextlib.contextmanager
def database(kind: str, root: Path) -> Iterator[str]:
    """A fresh database URL of ``kind`` (sqlite | postgresql), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{root / 'fieldhall.sqlite3'}"
        return
    name = f"fieldhall_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------------- (a) projector


def _jpeg(seed: int) -> bytes:
    image = Image.new("RGB", (64, 48), ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _png(seed: int) -> bytes:
    image = Image.new("L", (80, 30), 255)
    for x in range(5, 75):
        image.putpixel((x, 15 + (x * seed) % 7), 0)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _case(device: DeviceClient, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    name = rng.choice(SURNAMES) + rng.choice(GIVEN[::2]) + rng.choice(GIVEN[1::2])
    doc, files = device.case(
        "senior_citizen_card",
        CATALOG_VERSION,
        applicant={
            "name": name,
            "id_number": "610902194501010023",
            "phone": "13800000000",
            "address": f"汉滨区新城街道南环社区{seed % 40 + 1}号楼",
        },
        form={
            "birth_date": "1945-01-01",
            "household_type": "本地户籍",
            "residence_address": f"汉滨区新城街道南环社区{seed % 40 + 1}号楼2单元",
        },
        materials=[
            Material(f"id_front_{seed}.jpg", _jpeg(seed), "image/jpeg", "id_card"),
            Material(f"portrait_{seed}.jpg", _jpeg(seed + 7919), "image/jpeg", "photo"),
        ],
        consent=Material(f"consent_{seed}.png", _png(seed), "image/png", "consent_signature"),
    )
    return DeviceClient.with_attachments(doc, files)


@contextlib.contextmanager
def served_hall(root: Path, database_url: str) -> Iterator[tuple[str, object]]:
    settings = Settings.from_env(data_dir=root, database_url=database_url, port=free_port())
    url = f"http://127.0.0.1:{settings.port}"
    app = create_app(settings, public_url=url, projector=False)
    with serve_in_thread(uvicorn_config(app, "127.0.0.1", settings.port)):
        yield url, app.state.hall


def bench_projector(kind: str, cases: int) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="fieldhall-hall-bench-"))
    try:
        with database(kind, root) as url, served_hall(root, url) as (server, hall):
            field = hall.field  # type: ignore[attr-defined]
            with field.session() as session:
                ensure_grid(session, "grid-bench", "基准网格")
                agent = add_agent(session, "王芳", grid_id="grid-bench")
                session.commit()
                code = issue_code(session, agent.id)
            device = DeviceClient.enroll(server, code.code, name="bench phone")
            started = time.perf_counter()
            batch: list[dict[str, object]] = []
            for seed in range(1, cases + 1):
                batch.append(_case(device, seed))
                if len(batch) == 100 or seed == cases:
                    results = device.push(batch)
                    refused = [r for r in results if "error" in r]
                    if refused:
                        raise SystemExit(f"the door refused bench cases: {refused[:3]}")
                    batch = []
            pushed = time.perf_counter() - started
            projector = hall.projector  # type: ignore[attr-defined]
            lag = projector.lag().lag
            cpu = time.process_time()
            started = time.perf_counter()
            consumed = projector.project_pending()
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            projected = projector.lag().lag
            if projected != 0 or consumed < cases:
                raise SystemExit(f"projector left lag {projected} after {consumed} changes")
            return {
                "cases": cases,
                "changes": consumed,
                "lag_before": lag,
                "push_s": pushed,
                "project_s": elapsed,
                "cases_per_s": cases / elapsed,
                "cpu_s": cpu,
            }
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------- (b) inbox


def _rows(total: int, now: datetime, rng: random.Random) -> Iterator[dict[str, object]]:
    """A busy hall's two years: concluded cases spread over them, open ones from the last
    weeks (a few of them overdue), in arrival order."""
    states = [state for state, weight in STATES for _ in range(weight * total // 200_000)]
    states += ["closed"] * (total - len(states))
    filings = []
    for state in states:
        limit = rng.choice((5, 7, 10, 15, 20))
        # An open case is usually within its limit: one in twenty is past it.
        span = timedelta(days=730) if state in FINAL else timedelta(days=limit * 1.05)
        filings.append((now - span * rng.random(), limit, state))
    filings.sort()
    for order, (filed, limit, state) in enumerate(filings, start=1):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN[::2]) + rng.choice(GIVEN[1::2])
        matter = rng.choice(MATTERS)
        grid = f"grid-{rng.randrange(120):03d}"
        station = f"station-{rng.randrange(8)}" if rng.random() < 0.1 else None
        address = f"汉滨区{rng.choice('新城江北关庙老城建民')}街道{rng.randrange(1, 300)}号"
        case_id = f"case:{uuid.UUID(int=rng.getrandbits(128)).hex}"
        accepted = filed + timedelta(hours=2) if state not in {"received", "pre_review"} else None
        concluded = filed + timedelta(days=6) if state in CONCLUDED else None
        promised = filed + timedelta(days=limit) if accepted else None
        yield {
            "id": case_id,
            "received_order": order,
            "rev": "1-" + "0" * 32,
            "matter_id": matter,
            "catalog_version": CATALOG_VERSION,
            "channel": rng.choice(("home_visit", "hospital", "mobile_station", "hall")),
            "agent_id": f"agent-{rng.randrange(600)}",
            "device_id": f"device-{rng.randrange(600)}",
            "grid_id": grid,
            "station_id": station,
            "request_id": None,
            "applicant_name": name,
            "applicant_address": address,
            "search_text": f"{case_id} {name} {address} {matter}".lower(),
            "filed_at": filed,
            "received_at": filed + timedelta(minutes=3),
            "state": state,
            "state_changed_at": filed + timedelta(days=1),
            "closed": state in FINAL,
            "resume_state": None,
            "notices_issued": 1 if state == "notice" else 0,
            "accepted_at": accepted,
            "concluded_at": concluded,
            "result_ready_at": None,
            "delivered_at": None,
            "closed_at": filed + timedelta(days=8) if state in FINAL else None,
            "current_step": 0 if state.startswith("accepted") else None,
            "legal_due_at": promised + timedelta(days=20) if promised else None,
            "promised_due_at": promised,
            "suspended": state == "notice",
            "open_deficiencies": 0,
            "trips": 0,
            "delivery_method": None,
            "rating": None,
            "open_complaints": 0,
            "events": 3,
        }


def seed_inbox(url: str, total: int, now: datetime) -> float:
    engine = create_store_engine(url, synchronous="NORMAL")
    try:
        create_hall_tables(engine)
        started = time.perf_counter()
        rows = _rows(total, now, random.Random(20261127))
        table = HallCase.__table__  # type: ignore[attr-defined]
        terms = HallCaseTerm.__table__  # type: ignore[attr-defined]
        while chunk := [row for _, row in zip(range(5_000), rows, strict=False)]:
            postings = [
                {"term": term, "received_order": row["received_order"]}
                for row in chunk
                for term in terms_of(str(row["search_text"]))
            ]
            with engine.begin() as connection:
                connection.execute(insert(table), chunk)
                connection.execute(insert(terms), postings)
        if url.startswith("postgresql"):
            with engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE hall_case")
        else:
            with engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
        return time.perf_counter() - started
    finally:
        engine.dispose()


Request = Callable[[], tuple[CaseFilter, str | None]]


def _kinds(rng: random.Random, total: int) -> dict[str, Request]:
    open_states = [state for state, _ in STATES if state not in FINAL]
    return {
        "first page": lambda: (CaseFilter(), None),
        "by state": lambda: (CaseFilter(state=rng.choice(open_states)), None),
        "by matter": lambda: (CaseFilter(matter=rng.choice(MATTERS)), None),
        "by grid": lambda: (CaseFilter(grid=f"grid-{rng.randrange(120):03d}"), None),
        "state + grid": lambda: (
            CaseFilter(state=rng.choice(open_states), grid=f"grid-{rng.randrange(120):03d}"),
            None,
        ),
        "overdue": lambda: (CaseFilter(overdue=True), None),
        "text search": lambda: (CaseFilter(text=rng.choice(SURNAMES) + rng.choice(GIVEN)), None),
        "deep page": lambda: (CaseFilter(), encode_cursor(rng.randrange(1_000, total))),
    }


def bench_inbox(url: str, total: int, now: datetime, rounds: int) -> dict[str, dict[str, float]]:
    engine = create_store_engine(url, synchronous="NORMAL")
    rng = random.Random(7)
    results: dict[str, dict[str, float]] = {}
    try:
        with Session(engine) as session:
            for kind, make in _kinds(rng, total).items():
                timings = []
                returned = 0
                for attempt in range(rounds + 10):
                    filters, cursor = make()
                    started = time.perf_counter()
                    rows, _next = list_cases(session, filters, now, limit=50, cursor=cursor)
                    elapsed = time.perf_counter() - started
                    if cursor is not None and rows:
                        assert rows[0].received_order < decode_cursor(cursor)
                    if attempt >= 10:  # the first ten warm the caches
                        timings.append(elapsed * 1000)
                        returned += len(rows)
                timings.sort()
                results[kind] = {
                    "p50_ms": statistics.median(timings),
                    "p95_ms": timings[int(len(timings) * 0.95) - 1],
                    "max_ms": timings[-1],
                    "rows": returned / rounds,
                }
    finally:
        engine.dispose()
    return results


# ---------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller: a smoke run")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--only", choices=("projector", "inbox"), help="one half only")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    kinds = ["sqlite"] if args.no_pg else ["sqlite", "postgresql"]
    cases = 200 if args.quick else 2_000
    total = 20_000 if args.quick else 200_000
    rounds = 40 if args.quick else 200
    now = datetime.now(UTC)

    if args.only != "inbox":
        report_projector(kinds, cases)
    if args.only != "projector":
        report_inbox(kinds, total, rounds, now)


def report_projector(kinds: list[str], cases: int) -> None:
    print("## (a) projector: signed cases projected per second (target >= 1,000/s)\n")
    print(
        "| database | cases | changes | project s | cases/s | CPU s | cases per CPU-s "
        "| push s (untimed) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind in kinds:
        got = bench_projector(kind, cases)
        print(
            f"| {kind} | {got['cases']:.0f} | {got['changes']:.0f} | {got['project_s']:.2f} "
            f"| **{got['cases_per_s']:.0f}** | {got['cpu_s']:.2f} "
            f"| {got['cases'] / got['cpu_s']:.0f} | {got['push_s']:.1f} |",
            flush=True,
        )


def report_inbox(kinds: list[str], total: int, rounds: int, now: datetime) -> None:
    print(f"\n## (b) inbox: list_cases at {total:,} cases, {rounds} queries each (p95 < 50 ms)\n")
    for kind in kinds:
        root = Path(tempfile.mkdtemp(prefix="fieldhall-inbox-bench-"))
        try:
            with database(kind, root) as url:
                seeded = seed_inbox(url, total, now)
                print(f"\n{kind}: {total:,} cases inserted in {seeded:.1f} s\n")
                print("| request | p50 ms | p95 ms | max ms | rows/page |")
                print("| --- | ---: | ---: | ---: | ---: |")
                for request, figures in bench_inbox(url, total, now, rounds).items():
                    mark = "" if figures["p95_ms"] < 50 else " (over)"
                    print(
                        f"| {request} | {figures['p50_ms']:.1f} | **{figures['p95_ms']:.1f}**"
                        f"{mark} | {figures['max_ms']:.1f} | {figures['rows']:.0f} |",
                        flush=True,
                    )
        finally:
            shutil.rmtree(root, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
