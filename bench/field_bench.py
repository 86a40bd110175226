"""Field contract benchmark (issue 5, Performance): verified ingest of signed cases against
plain ``couch serve``, and an agent's first pull of its channel from a large database; printed
as a markdown table and recorded in ``bench/RESULTS.md``.

    .venv/bin/python bench/field_bench.py [--quick | --door N]
    fieldhall bench field [--quick]

(a) **Verified ingest.** A ``fieldhall serve`` process (fresh data directory, a staff admin
made with ``fieldhall staff add``) with one enrolled device per round
(:meth:`DeviceClient.enroll`). The device signs 10,000 ``senior_bus_card`` cases beforehand
(:meth:`DeviceClient.case`: the applicant's ID number sealed, chained, Ed25519-signed;
the schema requires a consent signature image, so each case carries one tiny PNG of ~80 bytes
and lists it in its ``materials``; no other photos). bench/pouchdb_field.js loads them into a
PouchDB memory database (untimed) and replicates them to ``/sync/field`` with the device's
bearer token: the door checks signature, kid, schema and form, ownership, attachments against
the manifest, the hash chain, and writes a signed receipt per case; the hall's projector runs
as it does in production. The same script pushes the very same signed cases, PNG included,
into a fresh database of ``fieldhall couch serve``, which stores them unchecked: plain
``couch serve`` throughput for this workload, the target's baseline (verified ≥ 70% of it).
For reference, as many unsigned docs of the cases' mean JSON size without an attachment go to
``couch serve`` too (what the bench compared with before 2026-11-27 10:00, a stricter ratio:
each case's inline PNG costs even plain ``couch serve`` a blob file and its fsyncs). The order
of the three rotates from round to round; the best of each counts.

(b) **An agent's first pull.** 200,000 documents of 1,000 agents, 200 each (100 cases and
their 100 receipts, ~1 KB and ~0.7 KB, signed-looking: the shapes of ARCHITECTURE with random
signatures, no attachments), interleaved so that each agent's documents are spread over the
whole sequence, are written through ``Store.bulk_docs`` as admin with the field channel
function into a hall's data directory before its server starts; the receipts are recorded as
issued and the projector's checkpoint is set to the end, as in a hall that has processed
them. One of those agents (made with ``fieldhall agents add``) enrolls a device, which then
pulls its channel: PouchDB ``replicate`` into a fresh memory db (the median of several pulls;
target < 1 s), and one ``_changes?limit=100`` page from the start (the median of 20 after a
warm-up; target < 50 ms). A single ``_changes?include_docs=true`` for the whole channel (httpx)
is shown for reference.

``--door N`` times the door alone, in-process: N signed cases as PouchDB sends them, through
``Store.bulk_docs`` as the device with the hall's write policy and receipts, without HTTP or
the projector; CPU milliseconds per case and cases/s, printed only.

Wall-clock figures are as the client sees them; the server's CPU seconds (``/proc``, its
door's worker processes included since 2026-11-28) are shown too, as they depend less on what
else the shared machine runs.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import hashlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from replicate_bench import code_revision
from sqlalchemy import insert
from sync_bench import BenchError, create_db, ensure_node_modules, make_doc, tool
from sync_report import file_creation_us, filesystem_of, machine, record, work_dir
from sync_servers import BENCH_DIR, Server, ServerFailed, free_port, start_fieldhall
from ulid import ULID

from fieldhall.field_app_api.channels import channels_of
from fieldhall.field_app_api.client import DeviceClient, Material
from fieldhall.field_app_api.service import FIELD_DB, FieldService
from fieldhall.field_app_api.tables import ReceiptIssued
from fieldhall.schemas.keys import b64url_encode
from fieldhall.server.settings import Settings
from fieldhall.server.stores import open_store
from fieldhall.sync import parse_incoming

RESULTS_PATH = BENCH_DIR / "RESULTS.md"
NODE_SCRIPT = "pouchdb_field.js"
NODE_TIMEOUT_S = 1800
STARTUP_TIMEOUT_S = 300.0  # a hall opening a large database on a loaded machine
PROJECTOR_TIMEOUT_S = 900.0
STAFF = ("bench", "bench-staff-password")
CATALOG_VERSION = "2026.1"
MATTER = "senior_bus_card"  # the smallest form of the catalog: cases stay near 1 KB
GRIDS = 50  # the synthetic agents of (b) are spread over this many grids
VERIFIED, SAME, PLAIN = "verified", "same-cases", "plain"


@dataclass(frozen=True, slots=True)
class Sizes:
    cases: int = 10_000  # (a), per round
    rounds: int = 3
    agents: int = 1_000  # (b)
    docs_per_agent: int = 200  # half cases, half their receipts
    pulls: int = 5  # the median of these PouchDB pulls
    pages: int = 20  # the median of these _changes pages, after one warm-up
    page_limit: int = 100
    fill_batch: int = 5_000

    @property
    def total_docs(self) -> int:
        return self.agents * self.docs_per_agent


FULL = Sizes()
QUICK = Sizes(cases=1_000, rounds=1, agents=100, pulls=3, pages=5)


@dataclass
class Figure:
    """One measured value (None when it could not be measured: then ``error`` says why)."""

    value: float | None
    detail: str = ""
    error: str | None = None


def best(figures: list[Figure], highest: bool = True) -> Figure:
    """The best of several rounds, its detail listing them all."""
    taken = [f for f in figures if f.value is not None]
    if not taken:
        return figures[0] if figures else Figure(None, error="not run")
    pick = (max if highest else min)(taken, key=lambda f: f.value or 0.0)
    if len(figures) == 1:
        return pick
    values = ", ".join("error" if f.value is None else f"{f.value:,.0f}" for f in figures)
    return Figure(pick.value, f"best of {len(figures)} rounds ({values}): {pick.detail}")


# -- processes --------------------------------------------------------------------------------


def fieldhall_cli() -> str:
    script = Path(sys.executable).parent / "fieldhall"
    return str(script) if script.exists() else tool("fieldhall")


def cli(*args: str, stdin: str | None = None) -> str:
    """An administrative ``fieldhall`` command; its stdout (BenchError with its stderr)."""
    done = subprocess.run(
        [fieldhall_cli(), *args], input=stdin, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise BenchError(f"fieldhall {args[0]} {args[1]}: {done.stderr.strip()[-600:]}")
    return done.stdout


def add_staff(data_dir: Path) -> None:
    cli(
        "staff", "add", "--username", STAFF[0], "--role", "admin", "--password-stdin",
        "--data-dir", str(data_dir), stdin=STAFF[1] + "\n",
    )  # fmt: skip


def start_hall(data_dir: Path, name: str) -> Server:
    """``fieldhall serve`` on ``data_dir`` (staff admin already added), up when /health is."""
    port = free_port()
    log_path = data_dir.parent / f"{name}.log"
    command = [
        fieldhall_cli(), "serve", "--host", "127.0.0.1", "--port", str(port),
        "--data-dir", str(data_dir),
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir)
    server = Server("fieldhall serve", f"http://127.0.0.1:{port}", STAFF, process, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        server.check_alive()
        try:
            if httpx.get(server.url + "/health", timeout=5.0).status_code == 200:
                server.notes.append("SQLite, WAL, synchronous=FULL; the projector running")
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise ServerFailed(f"fieldhall serve did not come up: {server.log_tail()}")


def health(server: Server) -> dict[str, Any]:
    response = httpx.get(server.url + "/health", timeout=60.0)
    response.raise_for_status()
    reply: dict[str, Any] = response.json()
    return reply


def _wait_for(
    server: Server, done: Callable[[dict[str, Any]], bool], what: str
) -> tuple[float, dict[str, Any]]:
    """Seconds until ``done(/health)`` holds, polling every quarter of a second, and that
    /health."""
    started = time.perf_counter()
    deadline = time.monotonic() + PROJECTOR_TIMEOUT_S
    while True:
        server.check_alive()
        state = health(server)
        if done(state):
            return time.perf_counter() - started, state
        if time.monotonic() > deadline:
            raise BenchError(f"{what} did not catch up in {PROJECTOR_TIMEOUT_S:.0f} s")
        time.sleep(0.25)


def wait_for_projector(server: Server) -> tuple[float, dict[str, Any]]:
    """Seconds until the hall's projector has caught up (and published its events), and
    /health; at once when /health reports no projector (a revision without the hall)."""

    def caught_up(state: dict[str, Any]) -> bool:
        lag = state.get("projector", {}).get("lag", 0)
        return bool(lag == 0 and state.get("unpublished_events", 0) == 0)

    return _wait_for(server, caught_up, "the projector")


def wait_for_photos(server: Server) -> float:
    """Seconds until the hall's photo worker has derived every queued material (it yields to
    device writes for a few seconds, so part of a push's photo work comes after it)."""

    def derived(state: dict[str, Any]) -> bool:
        photos = state.get("photos")
        return photos is None or photos.get("pending", 0) + photos.get("unqueued", 0) == 0

    return _wait_for(server, derived, "the photo worker")[0]


def run_node(node: str, *args: str) -> dict[str, Any]:
    try:
        done = subprocess.run(
            [node, NODE_SCRIPT, *args],
            cwd=BENCH_DIR, capture_output=True, text=True, timeout=NODE_TIMEOUT_S,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"node {args[0]}: no result within {NODE_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        raise BenchError(f"node {args[0]}: {done.stderr.strip()[-800:]}")
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def enroll(hall: Server, name: str, grid: str) -> DeviceClient:
    """A new agent (admin API) and its enrolled device."""
    with hall.client() as client:
        response = client.post(
            "/api/v1/admin/agents", json={"name": name, "grid_id": grid, "station_id": None}
        )
    if response.status_code != 201:
        raise BenchError(f"adding an agent: {response.status_code} {response.text[:300]}")
    return DeviceClient.enroll(hall.url, response.json()["enrollment_code"], name=name)


# -- (a) verified ingest ----------------------------------------------------------------------


def consent_png(n: int) -> bytes:
    """A 16×4 greyscale PNG (about 80 bytes) whose pixels spell ``n``: distinct per case."""
    image = Image.new("L", (16, 4), 255)
    for bit in range(64):
        if n >> bit & 1:
            image.putpixel((bit % 16, bit // 16), 0)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def signed_cases(device: DeviceClient, count: int, first: int) -> list[dict[str, Any]]:
    """``count`` signed cases at the head of the device's chain, attachments inline."""
    docs = []
    for i in range(first, first + count):
        doc, files = device.case(
            MATTER,
            CATALOG_VERSION,
            applicant={"name": "张桂兰", "id_number": "610902194501010023"},
            form={"card_type": "爱心卡（65周岁及以上）", "birth_date": "1945-01-01"},
            materials=[],
            consent=Material("consent.png", consent_png(i), "image/png", "consent_signature"),
            location={"lat": 32.68, "lon": 109.03, "accuracy_m": 15},
        )
        docs.append(DeviceClient.with_attachments(doc, files))
    return docs


def json_bytes(doc: dict[str, Any]) -> int:
    """The size of a document's JSON as PouchDB sends it (UTF-8), attachments left out."""
    body = {k: v for k, v in doc.items() if k != "_attachments"}
    return len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())


@dataclass
class IngestRound:
    device: DeviceClient
    ids: list[str]
    files: dict[str, Path]  # kind (VERIFIED, SAME, PLAIN) -> its docs


@dataclass
class Ingest:
    node: str
    hall: Server
    couch: Server
    rounds: list[IngestRound]
    sizes: Sizes
    notes: list[str] = field(default_factory=list)


def prepare_ingest(workdir: Path, node: str, hall: Server, couch: Server, sizes: Sizes) -> Ingest:
    """One enrolled device per round and its signed cases, the plain docs, all in files."""
    rng = random.Random(5)
    rounds = []
    sign_seconds = 0.0
    case_sizes: list[int] = []
    for r in range(sizes.rounds):
        device = enroll(hall, f"bench agent {r + 1}", f"grid-bench-{r + 1}")
        started = time.perf_counter()
        cases = signed_cases(device, sizes.cases, r * sizes.cases)
        sign_seconds += time.perf_counter() - started
        case_sizes += [json_bytes(doc) for doc in cases]
        mean = round(statistics.mean(json_bytes(doc) for doc in cases))
        plain = [make_doc(f"plain-{r + 1}-{i:07d}", i, mean, rng) for i in range(sizes.cases)]
        files = {}
        # SAME: the very documents of VERIFIED, which couch serve stores without a check.
        for kind, docs in ((VERIFIED, cases), (SAME, cases), (PLAIN, plain)):
            files[kind] = workdir / f"{kind}-{r + 1}.json"
            files[kind].write_text(json.dumps(docs, ensure_ascii=False))
        rounds.append(IngestRound(device, [d["_id"] for d in cases], files))
    signed = sizes.cases * sizes.rounds
    ingest = Ingest(node, hall, couch, rounds, sizes)
    ingest.notes.append(
        f"cases: JSON {statistics.mean(case_sizes):,.0f} bytes on average "
        f"({min(case_sizes):,}–{max(case_sizes):,}) plus one {len(consent_png(0))}-byte PNG "
        f"inline; {signed:,} sealed and signed beforehand in {sign_seconds:.0f} s "
        f"({1000 * sign_seconds / signed:.1f} ms each, untimed); the same cases: these "
        "documents, PNG included, to a fresh database of `couch serve`; plain docs: random "
        "text, the same JSON size, no attachment"
    )
    return ingest


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a server so far, with its child processes': the door's
    worker processes check a large batch (alive for the server's life, so not in its own
    children's times until they end; those that ended and were waited for are)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    total = ticks / os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:  # the thread ended meanwhile
            continue
        for child in children:
            try:
                total += server_cpu_seconds(int(child))
            except OSError:  # the child ended meanwhile
                pass
    return total


def _push_figure(summary: dict[str, Any], cpu: float, extra: str = "") -> Figure:
    seconds, http = summary["seconds"], summary["http_seconds"]
    return Figure(
        summary["docs"] / seconds,
        f"{summary['docs']:,} docs in {seconds:.2f} s; a request in flight {http:.2f} s "
        f"({100 * http / seconds:.0f}%), {summary['requests']:,} requests; server CPU "
        f"{cpu:.2f} s{extra}",
    )


def push_verified(ingest: Ingest, r: int) -> Figure:
    hall, round_ = ingest.hall, ingest.rounds[r]
    device = round_.device
    pid = hall.pid
    assert pid is not None
    before = server_cpu_seconds(pid)
    summary = run_node(
        ingest.node, "push", str(round_.files[VERIFIED]), device.state.sync_url, device.state.token
    )
    during = server_cpu_seconds(pid) - before
    caught_up, state = wait_for_projector(hall)
    after = server_cpu_seconds(pid) - before
    photos_done = caught_up + wait_for_photos(hall)
    after_photos = server_cpu_seconds(pid) - before
    # Every case is stored (PouchDB counted no refusal; check the server's side too).
    with hall.client() as client:
        response = client.post(f"/sync/{FIELD_DB}/_all_docs", json={"keys": round_.ids})
        response.raise_for_status()
        missing = [row for row in response.json()["rows"] if "error" in row or "value" not in row]
    if missing:
        raise BenchError(f"{len(missing)} cases not stored, e.g. {missing[0]}")
    with device.http() as client:  # the device's own view: its cases and their receipts
        visible = client.get(device.state.sync_url)
    seen = visible.json().get("doc_count") if visible.status_code == 200 else visible.status_code
    if "projector" in state:
        extra = (
            f" during the push, {after:.2f} s until the hall's projector had caught up "
            f"{caught_up:.1f} s after it (checkpoint {state['projector']['checkpoint']:,}), "
            f"{after_photos:.2f} s until its photo worker had derived every consent image "
            f"{photos_done:.1f} s after it"
        )
    else:
        extra = " (no projector in this revision)"
    extra += f"; the device then sees {seen:,} docs (its cases, their receipts, the hall's events)"
    return _push_figure(summary, during, extra)


def push_plain(ingest: Ingest, r: int, kind: str) -> Figure:
    couch, round_ = ingest.couch, ingest.rounds[r]
    db = couch.db(f"{kind}-{r + 1}")
    with couch.client() as client:
        create_db(client, db)
    pid = couch.pid
    assert pid is not None
    before = server_cpu_seconds(pid)
    summary = run_node(ingest.node, "push", str(round_.files[kind]), f"{couch.auth_url}/{db}")
    during = server_cpu_seconds(pid) - before
    with couch.client() as client:
        count = client.get(f"/{db}").json()["doc_count"]
    if count != ingest.sizes.cases:
        raise BenchError(f"{db} holds {count} docs, not {ingest.sizes.cases}")
    return _push_figure(summary, during)


def measure_ingest(ingest: Ingest) -> dict[str, Figure]:
    """Rounds in which the order of the pushes rotates; the best of each."""
    kinds: list[tuple[str, Callable[[Ingest, int], Figure]]] = [
        (VERIFIED, push_verified),
        (SAME, functools.partial(push_plain, kind=SAME)),
        (PLAIN, functools.partial(push_plain, kind=PLAIN)),
    ]
    runs: dict[str, list[Figure]] = {key: [] for key, _ in kinds}
    for r in range(ingest.sizes.rounds):
        shift = r % len(kinds)
        for key, push in kinds[shift:] + kinds[:shift]:
            print(f"ingest {key} round {r + 1} ...", file=sys.stderr, flush=True)
            try:
                ingest.hall.check_alive()
                ingest.couch.check_alive()
                runs[key].append(push(ingest, r))
            except (BenchError, ServerFailed, httpx.HTTPError, OSError, ValueError) as exc:
                runs[key].append(Figure(None, error=f"{type(exc).__name__}: {exc}"))
    return {key: best(figures) for key, figures in runs.items()}


# -- (b) an agent's first pull ----------------------------------------------------------------


def _hex(rng: random.Random, n: int) -> str:
    return rng.randbytes(n).hex()


def _b64(rng: random.Random, n: int) -> str:
    return b64url_encode(rng.randbytes(n))


def _sealed(rng: random.Random, n: int) -> dict[str, str]:
    return {"sealed": _b64(rng, n + 16), "enc": _b64(rng, 32), "alg": "HPKE-X25519-SHA256-A256GCM"}


def fake_case(
    agent: str, device: str, grid: str, seq: int, at: str, rng: random.Random
) -> dict[str, Any]:
    """A case in ARCHITECTURE's shape, its signature random bytes (it never meets the door)."""
    return {
        "_id": f"case:{ULID()}", "type": "case", "contract": 1, "created_at": at,
        "matter": {"id": MATTER, "catalog_version": CATALOG_VERSION}, "channel": "home_visit",
        "grid_id": grid, "station_id": None, "request_id": None,
        "applicant": {"name": "张桂兰", "id_number": _sealed(rng, 18)},
        "form": {"card_type": "爱心卡（65周岁及以上）", "birth_date": "1945-01-01"},
        "materials": [{
            "name": "consent.png", "material_id": "consent_signature", "sha256": _hex(rng, 32),
            "length": 81, "content_type": "image/png", "captured_at": at, "location": None,
        }],
        "consent": {"attachment": "consent.png", "signed_at": at},
        "location": {"lat": 32.68, "lon": 109.03, "accuracy_m": 15},
        "agent_id": agent, "device_id": device, "device_seq": seq,
        "prev_hash": _hex(rng, 32) if seq > 1 else None,
        "signature": {"alg": "Ed25519", "kid": device, "signed_at": at, "sig": _b64(rng, 64)},
    }  # fmt: skip


def fake_receipt(case: dict[str, Any], at: str, rng: random.Random) -> dict[str, Any]:
    case_id = case["_id"]
    return {
        "_id": f"receipt:{ULID()}", "type": "receipt", "contract": 1,
        "agent_id": case["agent_id"], "device_id": case["device_id"], "case_id": case_id,
        "for": {"id": case_id, "rev": f"1-{_hex(rng, 16)}", "sha256": _hex(rng, 32)},
        "attachments": {"consent.png": _hex(rng, 32)}, "received_at": at, "created_at": at,
        "signature": {"alg": "Ed25519", "kid": "server:k1", "signed_at": at, "sig": _b64(rng, 64)},
    }  # fmt: skip


def add_agent_cli(data_dir: Path, name: str, grid: str) -> dict[str, Any]:
    """``fieldhall agents add --json`` on the data directory: agent_id, enrollment_code…"""
    out = cli(
        "agents", "add", "--name", name, "--grid", grid, "--json", "--data-dir", str(data_dir)
    )
    agent: dict[str, Any] = json.loads(out)
    return agent


def fill_agents(data_dir: Path, sizes: Sizes, agent_id: str, grid: str) -> str:
    """The (b) database, written through the store before the server starts; a summary."""
    rng = random.Random(200)
    agents = [(agent_id, grid)] + [
        (f"agent-{str(ULID()).lower()}", f"grid-{k % GRIDS:03d}") for k in range(1, sizes.agents)
    ]
    devices = {agent: f"dev-{str(ULID()).lower()}" for agent, _ in agents}
    at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    store = open_store(Settings.from_env(data_dir=data_dir))
    store.channel_function = channels_of
    service = FieldService(store.db.engine, store)
    service.ensure_databases()
    started = time.perf_counter()
    pending: list[dict[str, Any]] = []
    issued: list[dict[str, str]] = []  # case -> its receipt, with the case's stored rev

    def flush() -> None:
        results = store.bulk_docs(FIELD_DB, [parse_incoming(d, new_edits=True) for d in pending])
        failed = [r for r in results if r.error is not None]
        if failed:
            raise BenchError(f"filling: {failed[0].to_json()}")
        revs = {r.doc_id: str(r.rev) for r in results}
        for case, receipt in zip(pending[::2], pending[1::2], strict=True):
            issued.append(
                {"doc_id": case["_id"], "receipt_id": receipt["_id"], "rev": revs[case["_id"]]}
            )
        pending.clear()

    for seq in range(1, sizes.docs_per_agent // 2 + 1):
        for agent, agent_grid in agents:
            case = fake_case(agent, devices[agent], agent_grid, seq, at, rng)
            pending += [case, fake_receipt(case, at, rng)]
            if len(pending) >= sizes.fill_batch:
                flush()
    if pending:
        flush()
    written = 2 * len(issued)
    seconds = time.perf_counter() - started
    update_seq = store.info(FIELD_DB).update_seq
    # As in a hall that has received these documents: each case's receipt is recorded as
    # issued (else the server would sign new ones at start-up), and the projector is at the end
    # of the feed (else it would project 100,000 cases first and publish their events).
    with service.session() as session:
        session.execute(insert(ReceiptIssued.__table__), issued)  # type: ignore[attr-defined]
    projected = mark_projected(service, update_seq)
    store.db.engine.dispose()
    return (
        f"{written:,} docs of {sizes.agents:,} agents written through `Store.bulk_docs` in "
        f"{seconds:.0f} s ({written / seconds:,.0f} docs/s, untimed); update_seq {update_seq:,}"
        + ("; the projector's checkpoint set to it" if projected else "")
    )


def mark_projected(service: FieldService, seq: int) -> bool:
    """Sets the hall projector's checkpoint to ``seq``; False in a revision without one."""
    try:
        from fieldhall.server.hall.tables import (  # the hall is optional
            ProjectorCheckpoint,
            create_hall_tables,
        )
    except ImportError:
        return False
    create_hall_tables(service.store.db.engine)
    with service.session() as session:
        now = datetime.datetime.now(datetime.UTC)
        session.add(ProjectorCheckpoint(name="hall", seq=seq, updated_at=now))
    return True


def changes_page_ms(client: httpx.Client, url: str, limit: int) -> tuple[float, int]:
    started = time.perf_counter()
    response = client.get(url + "/_changes", params={"limit": limit})
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return 1000 * elapsed, len(response.json()["results"])


def measure_pull(node: str, hall: Server, device: DeviceClient, sizes: Sizes) -> dict[str, Figure]:
    url, token = device.state.sync_url, device.state.token
    own = sizes.docs_per_agent
    figures: dict[str, Figure] = {}
    pid = hall.pid
    assert pid is not None
    pulls, cpus, details = [], [], []
    for n in range(sizes.pulls):
        print(f"pull {n + 1} ...", file=sys.stderr, flush=True)
        before = server_cpu_seconds(pid)
        summary = run_node(node, "pull", url, token, str(own))
        cpus.append(server_cpu_seconds(pid) - before)
        pulls.append(summary["seconds"])
        details.append(summary)
    median = statistics.median(pulls)
    last = details[-1]
    figures["pull"] = Figure(
        median,
        f"median of {len(pulls)} ({', '.join(f'{s:.3f}' for s in pulls)} s); "
        f"{last['docs_written']} docs, {last['requests']} requests; server CPU "
        f"{statistics.median(cpus):.3f} s (median)",
    )
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60.0) as client:
        full = []
        for _ in range(sizes.pulls):
            started = time.perf_counter()
            response = client.get(url + "/_changes", params={"include_docs": "true"})
            full.append(time.perf_counter() - started)
            response.raise_for_status()
            got = len(response.json()["results"])
            if got != own:
                raise BenchError(f"_changes?include_docs=true gave {got} rows, not {own}")
        figures["include_docs"] = Figure(
            statistics.median(full),
            f"median of {len(full)} ({', '.join(f'{s:.3f}' for s in full)} s), one request",
        )
        changes_page_ms(client, url, sizes.page_limit)  # warm-up
        pages = []
        for _ in range(sizes.pages):
            ms, got = changes_page_ms(client, url, sizes.page_limit)
            if got != sizes.page_limit:
                raise BenchError(f"_changes?limit={sizes.page_limit} gave {got} rows")
            pages.append(ms)
    figures["page"] = Figure(
        statistics.median(pages),
        f"median of {len(pages)}, {min(pages):.1f}–{max(pages):.1f} ms",
    )
    return figures


# -- the run ----------------------------------------------------------------------------------


def _ratio(ours: Figure, theirs: Figure) -> float | None:
    if ours.value is None or not theirs.value:
        return None
    return ours.value / theirs.value


def verdict(passed: bool | None, how: str = "") -> str:
    if passed is None:
        return "n/a"
    return ("PASS" if passed else "**FAIL**") + (f" ({how})" if how else "")


def _cell(figure: Figure, decimals: int) -> str:
    return "error" if figure.value is None else f"{figure.value:,.{decimals}f}"


def report(
    ingest: dict[str, Figure], pull: dict[str, Figure], sizes: Sizes, info: dict[str, str],
    notes: list[str], workdir: Path, quick: bool,
) -> str:  # fmt: skip
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    verified, same, plain = ingest[VERIFIED], ingest[SAME], ingest[PLAIN]
    ratio, ratio_plain = _ratio(verified, same), _ratio(verified, plain)
    rounds = f"the best of {sizes.rounds} rounds, rotating" if sizes.rounds > 1 else "one round"
    lines = [
        f"## {now}{' (quick)' if quick else ''} — field contract (issue 5) — {info['nproc']} "
        f"CPUs ({info['cpu']}), {info['memory']}, {info['kernel']}",
        "",
        f"`fieldhall bench field` (bench/field_bench.py), fieldhall {info['revision']}. Load "
        f"average at the start: {info['load']}, at the end: {machine()['load']}. Data "
        f"directories on {filesystem_of(workdir)} ({workdir.parent}); `fieldhall serve` and "
        "`fieldhall couch serve` on SQLite (WAL, synchronous=FULL), 127.0.0.1. Client: PouchDB "
        f"9.0.0 in Node {info['node']} (memory adapter, default replication options; the "
        f"device's bearer token in its fetch headers) and httpx. (a): {rounds}; (b): medians.",
        "",
        "| measure | unit | value | target | verdict |",
        "|---|---|--:|---|---|",
        f"| (a) verified ingest: PouchDB push of {sizes.cases:,} signed cases to `/sync/field` "
        f"| docs/s | {_cell(verified, 0)} | – | – |",
        f"| (a) plain `couch serve`: PouchDB push of the same {sizes.cases:,} cases | docs/s "
        f"| {_cell(same, 0)} | – | – |",
        f"| (a) ratio verified/plain | × | {'error' if ratio is None else f'{ratio:.2f}'} | "
        f"≥ 0.70 | {verdict(None if ratio is None else ratio >= 0.70)} |",
        f"| (a) reference: {sizes.cases:,} unsigned docs of their JSON size, no attachment, to "
        f"`couch serve` | docs/s | {_cell(plain, 0)} | – | – |",
        "| (a) reference: ratio verified/(unsigned, no attachment) | × | "
        f"{'error' if ratio_plain is None else f'{ratio_plain:.2f}'} | – | – |",
        f"| (b) first pull of an agent's {sizes.docs_per_agent} docs out of "
        f"{sizes.total_docs:,} (PouchDB `replicate.from`) | s | {_cell(pull['pull'], 3)} | "
        f"< 1 s | {verdict(None if pull['pull'].value is None else pull['pull'].value < 1)} |",
        f"| (b) that agent's `_changes?limit={sizes.page_limit}` page from the start | ms | "
        f"{_cell(pull['page'], 1)} | < 50 ms | "
        f"{verdict(None if pull['page'].value is None else pull['page'].value < 50)} |",
        f"| (b) reference: its whole channel in one `_changes?include_docs=true` (httpx) | s | "
        f"{_cell(pull['include_docs'], 3)} | – | – |",
        "",
        "Details:",
        "",
    ]
    named = {
        VERIFIED: "(a) verified",
        SAME: "(a) the same cases to `couch serve`",
        PLAIN: "(a) unsigned, no attachment",
        "pull": "(b) PouchDB pull",
        "page": "(b) `_changes` page",
        "include_docs": "(b) `include_docs`",
    }
    for key, figure in {**ingest, **pull}.items():
        lines.append(f"* {named[key]}: {figure.error or figure.detail}")
    lines += [f"* {note}" for note in notes]
    return "\n".join(lines) + "\n"


def run_ingest(workdir: Path, node: str, sizes: Sizes, notes: list[str]) -> dict[str, Figure]:
    hall_dir = workdir / "hall-ingest"
    hall_dir.mkdir()
    servers: list[Server] = []
    try:
        add_staff(hall_dir)
        hall = start_hall(hall_dir, "hall-ingest")
        servers.append(hall)
        couch = start_fieldhall(workdir / "couch")
        servers.append(couch)
        print("signing the cases ...", file=sys.stderr, flush=True)
        ingest = prepare_ingest(workdir, node, hall, couch, sizes)
        figures = measure_ingest(ingest)
        notes += ingest.notes
        return figures
    finally:
        for server in servers:
            server.stop()


def run_pull(workdir: Path, node: str, sizes: Sizes, notes: list[str]) -> dict[str, Figure]:
    hall_dir = workdir / "hall-agents"
    hall_dir.mkdir()
    add_staff(hall_dir)
    agent = add_agent_cli(hall_dir, "bench puller", "grid-000")
    print(f"filling {sizes.total_docs:,} docs ...", file=sys.stderr, flush=True)
    notes.append("(b) database: " + fill_agents(hall_dir, sizes, agent["agent_id"], "grid-000"))
    started = time.perf_counter()
    hall = start_hall(hall_dir, "hall-agents")
    try:
        up = time.perf_counter() - started
        waited, state = wait_for_projector(hall)
        projector = state.get("projector")
        notes.append(
            f"(b) the hall came up in {up:.1f} s"
            + (f", its projector at the end {waited:.1f} s later" if projector else "")
        )
        device = DeviceClient.enroll(hall.url, agent["enrollment_code"], name="bench puller")
        return measure_pull(node, hall, device, sizes)
    finally:
        hall.stop()


# -- the door alone, in-process ---------------------------------------------------------------

DOOR_BATCH = 100  # as PouchDB's replicator sends them


def measure_door(cases: int) -> str:
    """Verified ingest without HTTP, the event loop or the hall's projector: ``cases`` signed
    cases, as PouchDB sends them (``new_edits=false``, the PNG inline), parsed as I-JSON and
    written through ``Store.bulk_docs`` as the enrolled device, in batches of 100, with the
    hall's full write policy and receipts, the garbage collector tuned as `fieldhall serve`
    tunes it; this process's CPU seconds per case and the wall-clock rate. Less sensitive to
    what else the machine runs than (a)."""
    from fieldhall.field_app_api.devices import authenticate_token
    from fieldhall.field_app_api.sync_auth import device_principal
    from fieldhall.server.composition import assemble, ijson_loads
    from fieldhall.server.serving import tune_garbage_collector

    workdir = work_dir("fieldhall-bench-door-")
    try:
        data_dir = workdir / "hall"
        data_dir.mkdir()
        add_staff(data_dir)
        hall = start_hall(data_dir, "hall-door")
        try:
            device = enroll(hall, "bench agent", "grid-bench")
        finally:
            hall.stop()
        docs = signed_cases(device, cases, 0)
        for doc in docs:  # PouchDB sends each with its revision, and new_edits=false
            rev = "1-" + hashlib.md5(doc["_id"].encode()).hexdigest()
            doc["_rev"], doc["_revisions"] = rev, {"start": 1, "ids": [rev[2:]]}
        bodies = [
            json.dumps(
                {"docs": docs[i : i + DOOR_BATCH], "new_edits": False}, ensure_ascii=False
            ).encode()
            for i in range(0, cases, DOOR_BATCH)
        ]
        parts = assemble(Settings.from_env(data_dir=data_dir))
        workers = parts.door_workers.wait_ready(60.0)
        tune_garbage_collector()  # as `fieldhall serve` does once its app is built
        identity = authenticate_token(parts.field.store.db, device.state.token)
        assert identity is not None
        principal = device_principal(identity)
        cpu = wall = 0.0
        for number, body in enumerate(bodies):
            started, started_cpu = time.perf_counter(), time.process_time()
            batch = [parse_incoming(d, new_edits=False) for d in ijson_loads(body)["docs"]]
            results = parts.field.store.bulk_docs(
                FIELD_DB, batch, new_edits=False, principal=principal
            )
            refused = [r.to_json() for r in results if r.error is not None]
            if refused:
                raise BenchError(f"refused: {refused[0]}")
            if number > 0:  # the first batch warms up (the catalog, the schema validators)
                cpu += time.process_time() - started_cpu
                wall += time.perf_counter() - started
        parts.door_workers.close()
        parts.field.store.db.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    timed = cases - DOOR_BATCH
    return (
        f"the door alone, in-process: {timed:,} signed cases after a warm-up batch, in batches "
        f"of {DOOR_BATCH}, in {wall:.2f} s ({timed / wall:,.0f} cases/s); CPU "
        f"{1000 * cpu / timed:.2f} ms per case in this process (receipts included; no HTTP, "
        f"no projector), {parts.door_workers.processes if workers else 0} worker processes; "
        f"fieldhall {code_revision()}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true",
        help="10x smaller, one round (printed, not recorded in RESULTS.md)",
    )  # fmt: skip
    parser.add_argument(
        "--door", type=int, metavar="N",
        help="only time N signed cases through the door in-process (printed, not recorded)",
    )  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.door:
        if args.door <= DOOR_BATCH:
            raise SystemExit(f"--door needs more than {DOOR_BATCH} cases (one batch warms up)")
        print(measure_door(args.door))
        return 0
    sizes = QUICK if args.quick else FULL
    node, npm = tool("node"), tool("npm")
    ensure_node_modules(npm)
    info = machine()
    info["node"] = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    info["revision"] = code_revision()
    workdir = work_dir("fieldhall-bench-field-")
    notes = [
        f"creating an empty file in the data directories' file system: "
        f"{file_creation_us(workdir):,.0f} µs (median of 200; the blob store and the photo "
        "worker create one per attachment)"
    ]
    try:
        try:
            ingest = run_ingest(workdir, node, sizes, notes)
        except (
            BenchError,
            ServerFailed,
            httpx.HTTPError,
            OSError,
            subprocess.SubprocessError,
        ) as exc:
            error = f"{type(exc).__name__}: {exc}"
            ingest = {key: Figure(None, error=error) for key in (VERIFIED, SAME, PLAIN)}
        try:
            pull = run_pull(workdir, node, sizes, notes)
        except (
            BenchError,
            ServerFailed,
            httpx.HTTPError,
            OSError,
            subprocess.SubprocessError,
        ) as exc:
            error = f"{type(exc).__name__}: {exc}"
            pull = {key: Figure(None, error=error) for key in ("pull", "page", "include_docs")}
        section = report(ingest, pull, sizes, info, notes, workdir, args.quick)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(section)
    if not args.quick:
        record(RESULTS_PATH, section)
        print(f"recorded in {RESULTS_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
