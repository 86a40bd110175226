"""Replicator benchmark (issue 4, Performance): ``fieldhall replicate`` against PouchDB's
replicator (and, with ``--couchdb URL``, Apache CouchDB's) between the same two
``fieldhall couch serve`` servers, in one run, printed as a markdown table and recorded in
``bench/RESULTS.md``.

    .venv/bin/python bench/replicate_bench.py [--couchdb URL] [--quick]
    fieldhall bench replicate [--couchdb URL] [--quick]

The source database holds 10,000 docs of 1 KB and 100 docs with a 500 KB attachment each,
written with ``_bulk_docs`` before any clock starts. Each round replicates it, one after the
other, into fresh databases on the target server with

* ``fieldhall replicate SOURCE TARGET --json``: the CLI as an operator runs it, a new process
  (interpreter start-up included);
* the same replication through the Python API (``replicate(Replication.between(…))``) in
  this process: the replication alone;
* PouchDB 9's replicator in Node, http to http (bench/pouchdb_replicate.js): the Node
  process's wall-clock time, and the ``PouchDB.replicate`` call alone;
* with ``--couchdb URL``: ``POST /_replicate`` on that CouchDB, source and target being the
  same two servers (so the CouchDB must reach 127.0.0.1 of this machine).

The order of the replicators rotates from round to round and the best of the rounds counts,
so that a busy spell of the shared machine does not fall on one of them only. Afterwards every
target database must hold every document, and the 100 attachments with the source's digests.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sync_bench import (
    BenchError,
    attachment_batch_body,
    bulk_body,
    create_db,
    ensure_node_modules,
    post_bulk,
    revision,
    tool,
)
from sync_report import filesystem_of, machine, record, work_dir
from sync_servers import BENCH_DIR, Server, ServerFailed, external_couchdb, start_fieldhall

import fieldhall
from fieldhall.sync.replicator import Replication, ReplicationError, State, replicate

RESULTS_PATH = BENCH_DIR / "RESULTS.md"
NODE_SCRIPT = "pouchdb_replicate.js"
RUN_TIMEOUT_S = 1800
MB = 1_000_000
SOURCE_DB = "source"

CLI, API, POUCH_PROCESS, POUCH_CALL, COUCHDB = "cli", "api", "pouch", "pouch_call", "couchdb"


@dataclass(frozen=True, slots=True)
class Sizes:
    docs: int = 10_000
    doc_bytes: int = 1024
    attachment_docs: int = 100
    attachment_bytes: int = 500 * 1024
    rounds: int = 3
    fill_batch: int = 2_000
    attachment_batch: int = 25

    @property
    def total(self) -> int:
        return self.docs + self.attachment_docs

    @property
    def megabytes(self) -> float:
        return (self.docs * self.doc_bytes + self.attachment_docs * self.attachment_bytes) / MB


FULL = Sizes()
QUICK = Sizes(docs=1_000, attachment_docs=10, rounds=1)


@dataclass
class Run:
    """One replication: its wall-clock seconds, or the error that stopped it."""

    seconds: float | None
    detail: str = ""
    error: str | None = None


@dataclass
class Rounds:
    runs: list[Run] = field(default_factory=list)

    @property
    def best(self) -> Run | None:
        taken = [run for run in self.runs if run.seconds is not None]
        return min(taken, key=lambda run: run.seconds or 0.0) if taken else None

    def describe(self) -> str:
        values = ", ".join(
            "error" if run.seconds is None else f"{run.seconds:.2f}" for run in self.runs
        )
        best = self.best
        if best is None:
            return f"every round failed: {self.runs[0].error if self.runs else 'not run'}"
        return f"best of {len(self.runs)} ({values} s): {best.detail}"


# -- the replicators --------------------------------------------------------------------------


@dataclass
class Setup:
    sizes: Sizes
    node: str
    fieldhall: str
    source: Server
    target: Server
    couchdb: Server | None

    def source_url(self, authenticated: bool = True) -> str:
        base = self.source.auth_url if authenticated else self.source.url
        return f"{base}/{self.source.db(SOURCE_DB)}"

    def target_url(self, db: str) -> str:
        return f"{self.target.auth_url}/{db}"


def _check_stats(stats: Mapping[str, object], expected: int, who: str) -> None:
    written, failures = stats.get("docs_written"), stats.get("doc_write_failures")
    if written != expected or failures != 0:
        raise BenchError(f"{who}: {written}/{expected} docs written, {failures} failures")


def run_cli(setup: Setup, db: str) -> Run:
    """``fieldhall replicate SOURCE TARGET --json`` as a new process: its wall-clock time."""
    command = [setup.fieldhall, "replicate", setup.source_url(), setup.target_url(db), "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"fieldhall replicate: {done.stderr.strip()[-600:]}")
    stats = json.loads(done.stdout)
    _check_stats(stats, setup.sizes.total, "fieldhall replicate")
    return Run(seconds, _replicator_detail(setup, seconds, stats))


def cli_startup(fieldhall: str) -> float:
    """Seconds for ``fieldhall replicate --help``: the interpreter and the imports alone."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([fieldhall, "replicate", "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return min(times)


def run_api(setup: Setup, db: str) -> Run:
    """The same replication through the Python API, in this process."""
    replication = Replication.between(setup.source_url(), setup.target_url(db))
    started = time.perf_counter()
    try:
        progress = asyncio.run(replicate(replication))
    except ReplicationError as exc:
        raise BenchError(f"replicate(): {exc}") from exc
    seconds = time.perf_counter() - started
    if progress.state is not State.COMPLETED:
        raise BenchError(f"replicate(): ended {progress.state.value}: {progress.error}")
    stats = progress.stats.to_json()
    _check_stats(stats, setup.sizes.total, "replicate()")
    return Run(seconds, _replicator_detail(setup, seconds, stats))


def _replicator_detail(setup: Setup, seconds: float, stats: Mapping[str, object]) -> str:
    sizes = setup.sizes
    return (
        f"{sizes.total:,} docs in {seconds:.2f} s ({sizes.total / seconds:,.0f} docs/s, "
        f"{sizes.megabytes / seconds:,.1f} MB/s); docs_read {stats.get('docs_read')}, "
        f"missing_checked {stats.get('missing_checked')}"
    )


def run_pouchdb(setup: Setup, db: str) -> tuple[Run, Run]:
    """bench/pouchdb_replicate.js: (the Node process's wall-clock time, the replicate call)."""
    command = [setup.node, NODE_SCRIPT, setup.source_url(), setup.target_url(db)]
    command.append(str(setup.sizes.total))
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=BENCH_DIR, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"node {NODE_SCRIPT}: {done.stderr.strip()[-600:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    call = summary["seconds"]
    http = summary["http_seconds"]
    total = setup.sizes.total
    detail = (
        f"{total:,} docs in {call:.2f} s ({total / call:,.0f} docs/s); a request in flight "
        f"{http:.2f} s ({100 * http / call:.0f}%), {summary['requests']:,} requests"
    )
    process = Run(
        seconds,
        f"node process {seconds:.2f} s (Node start-up and loading PouchDB "
        f"{summary['startup_seconds']:.2f} s), replicate() {call:.2f} s",
    )
    return process, Run(call, detail)


def run_couchdb(setup: Setup, db: str) -> Run:
    """``POST /_replicate`` on the given CouchDB, from the source server to the target one."""
    couchdb = setup.couchdb
    assert couchdb is not None
    body = {"source": setup.source_url(), "target": setup.target_url(db)}
    with couchdb.client(timeout=RUN_TIMEOUT_S) as client:
        started = time.perf_counter()
        response = client.post("/_replicate", json=body)
        seconds = time.perf_counter() - started
    if response.status_code not in (200, 201):
        raise BenchError(f"CouchDB /_replicate: {response.status_code} {response.text[:300]}")
    reply = response.json()
    history = (reply.get("history") or [{}])[0]
    _check_stats(history, setup.sizes.total, "CouchDB /_replicate")
    return Run(seconds, _replicator_detail(setup, seconds, history))


# -- CPU time -----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_usage(setup: Setup) -> tuple[float, float, float]:
    """(both servers, this process, its finished children): CPU seconds so far."""
    servers = sum(cpu_seconds(s.pid) for s in (setup.source, setup.target) if s.pid is not None)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return servers, time.process_time(), children.ru_utime + children.ru_stime


def cpu_note(setup: Setup, before: tuple[float, float, float], key: str) -> str:
    """The CPU seconds a replication cost the servers and the replicator (on a shared machine
    they say more than the wall-clock time does)."""
    servers, own, children = (
        now - then for now, then in zip(cpu_usage(setup), before, strict=True)
    )
    if key == COUCHDB:
        return f"; CPU: servers {servers:.2f} s"
    client = own if key == API else children
    return f"; CPU: replicator {client:.2f} s, servers {servers:.2f} s"


# -- set-up and checks ------------------------------------------------------------------------


def fill_source(setup: Setup) -> str:
    """The source database: the 1 KB docs, then the docs with attachments (untimed)."""
    sizes = setup.sizes
    db = setup.source.db(SOURCE_DB)
    rng = random.Random(4)
    started = time.perf_counter()
    with setup.source.client() as client:
        create_db(client, db)
        for start in range(0, sizes.docs, sizes.fill_batch):
            count = min(sizes.fill_batch, sizes.docs - start)
            post_bulk(client, db, bulk_body("doc", start, count, sizes.doc_bytes, rng), count)
        for start in range(0, sizes.attachment_docs, sizes.attachment_batch):
            count = min(sizes.attachment_batch, sizes.attachment_docs - start)
            body = attachment_batch_body(count, sizes.attachment_bytes)
            # attachment_batch_body numbers its docs from 0: give each batch its own ids.
            body = body.replace(b'"_id":"photo-', b'"_id":"photo-%04d-' % start)
            post_bulk(client, db, body, count)
        info = client.get(f"/{db}").json()
    if info["doc_count"] != sizes.total:
        raise BenchError(f"source holds {info['doc_count']} docs, not {sizes.total}")
    return f"filled in {time.perf_counter() - started:.1f} s"


def attachment_digests(client: httpx.Client, db: str) -> dict[str, str]:
    """doc id -> the digest of its attachment, for the docs with attachments."""
    response = client.get(
        f"/{db}/_all_docs",
        params={"include_docs": "true", "startkey": '"photo-"', "endkey": '"photo-\ufff0"'},
    )
    response.raise_for_status()
    return {
        row["id"]: row["doc"]["_attachments"]["photo.jpg"]["digest"]
        for row in response.json()["rows"]
    }


def verify_targets(setup: Setup, dbs: list[str]) -> list[str]:
    """Problems found: a target without every document, or with other attachment bytes."""
    with setup.source.client() as client:
        expected = attachment_digests(client, setup.source.db(SOURCE_DB))
    problems = []
    with setup.target.client() as client:
        for db in dbs:
            count = client.get(f"/{db}").json().get("doc_count")
            if count != setup.sizes.total:
                problems.append(f"{db}: {count} docs, not {setup.sizes.total}")
            elif attachment_digests(client, db) != expected:
                problems.append(f"{db}: attachment digests differ from the source's")
    return problems


# -- the run ----------------------------------------------------------------------------------


def code_revision() -> str:
    """Which fieldhall is measured: the checkout's (its commit, and whether it has uncommitted
    changes), or another copy put first on PYTHONPATH (as its REVISION file describes it)."""
    package = Path(fieldhall.__file__).resolve().parent
    if package.parent == BENCH_DIR.parent:
        return revision()
    marker = package.parent / "REVISION"
    described = marker.read_text().strip() if marker.exists() else "at an unknown revision"
    return f"{described}, from {package.parent}"


def run_rounds(setup: Setup) -> tuple[dict[str, Rounds], list[str]]:
    """Every replicator once per round, in an order that rotates; the target databases."""
    kinds: list[tuple[str, Callable[[Setup, str], object]]] = [
        (CLI, run_cli),
        (POUCH_PROCESS, run_pouchdb),
        (API, run_api),
    ]
    if setup.couchdb is not None:
        kinds.append((COUCHDB, run_couchdb))
    results = {key: Rounds() for key in (CLI, API, POUCH_PROCESS, POUCH_CALL, COUCHDB)}
    dbs = []
    for round_ in range(setup.sizes.rounds):
        shift = round_ % len(kinds)
        for key, runner in kinds[shift:] + kinds[:shift]:
            db = setup.target.db(f"{key}-{round_ + 1}")
            dbs.append(db)
            print(f"{key} round {round_ + 1} ...", file=sys.stderr, flush=True)
            try:
                setup.source.check_alive()
                setup.target.check_alive()
                with setup.target.client() as client:
                    create_db(client, db)
                before = cpu_usage(setup)
                outcome = runner(setup, db)
                cpu = cpu_note(setup, before, key)
                for run in outcome if isinstance(outcome, tuple) else (outcome,):
                    assert isinstance(run, Run)
                    run.detail += cpu
            except (BenchError, ServerFailed, httpx.HTTPError, OSError, ValueError) as exc:
                failed = Run(None, error=f"{type(exc).__name__}: {exc}")
                outcome = (failed, failed) if key == POUCH_PROCESS else failed
            if key == POUCH_PROCESS:
                assert isinstance(outcome, tuple)
                results[POUCH_PROCESS].runs.append(outcome[0])
                results[POUCH_CALL].runs.append(outcome[1])
            else:
                assert isinstance(outcome, Run)
                results[key].runs.append(outcome)
    return results, dbs


def _seconds(rounds: Rounds) -> str:
    best = rounds.best
    return "error" if best is None or best.seconds is None else f"{best.seconds:.2f}"


def _ratio(ours: Rounds, theirs: Rounds, target: float | None) -> tuple[str, str]:
    """(the ratio, the verdict): fieldhall's speed over the other's (their time / ours)."""
    mine, other = ours.best, theirs.best
    if mine is None or other is None or not mine.seconds or not other.seconds:
        return "n/a", "n/a"
    ratio = other.seconds / mine.seconds
    shown = f"{ratio:.3f}×"  # three places: 0.995 must not read as 1.00 next to FAIL
    if target is None:
        return shown, "–"
    return shown, "PASS" if ratio >= target else "**FAIL**"


def report(
    results: dict[str, Rounds], setup: Setup, info: dict[str, str], notes: list[str],
    workdir: Path, quick: bool,
) -> str:  # fmt: skip
    sizes = setup.sizes
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    heading = (
        f"## {now}{' (quick)' if quick else ''} — replicator (issue 4) — {info['nproc']} CPUs "
        f"({info['cpu']}), {info['memory']}, {info['kernel']}"
    )
    workload = (
        f"{sizes.docs:,} × {sizes.doc_bytes // 1024} KB docs + {sizes.attachment_docs} docs × "
        f"{sizes.attachment_bytes // 1024} KB attachment ({sizes.megabytes:,.0f} MB)"
    )
    rows = [
        (
            f"`fieldhall replicate … --json` (a new process) vs `node {NODE_SCRIPT}`",
            results[CLI], results[POUCH_PROCESS], 1.0,
        ),
        (
            "Python API `replicate()` in-process vs the `PouchDB.replicate()` call alone",
            results[API], results[POUCH_CALL], 1.0,
        ),
    ]  # fmt: skip
    lines = [
        heading,
        "",
        f"`fieldhall bench replicate` (bench/replicate_bench.py), fieldhall {info['revision']}. "
        f"Load average at the start: {info['load']}, at the end: {machine()['load']}. Two "
        f"`fieldhall couch serve` (SQLite, WAL, synchronous=FULL) on {filesystem_of(workdir)} "
        f"({workdir.parent}), 127.0.0.1. Workload: {workload}, from the source server into a "
        f"fresh database on the target server per replication. PouchDB 9.0.0 in Node "
        f"{info['node']}, http to http, default options (batches of 100); fieldhall's "
        "defaults (batches of 500). "
        + (
            f"The best of {sizes.rounds} rounds, the order of the replicators rotating."
            if sizes.rounds > 1
            else "One round."
        ),
        "",
        "| replication | fieldhall s | PouchDB s | fieldhall/PouchDB | target | verdict |",
        "|---|--:|--:|--:|---|---|",
    ]
    for label, ours, theirs, target in rows:
        ratio, verdict = _ratio(ours, theirs, target)
        lines.append(
            f"| {label} | {_seconds(ours)} | {_seconds(theirs)} | {ratio} | ≥ {target:g} | "
            f"{verdict} |"
        )
    if setup.couchdb is not None:
        ratio, _ = _ratio(results[CLI], results[COUCHDB], None)
        lines.append(
            f"| `fieldhall replicate` vs {setup.couchdb.name} `POST /_replicate` | "
            f"{_seconds(results[CLI])} | {_seconds(results[COUCHDB])} (CouchDB) | {ratio} | – | – |"
        )
    lines += ["", "Details:", ""]
    names = {
        CLI: "`fieldhall replicate`",
        API: "Python API",
        POUCH_PROCESS: "PouchDB, the Node process",
        POUCH_CALL: "PouchDB, `PouchDB.replicate()`",
        COUCHDB: "CouchDB `/_replicate`",
    }
    for key, rounds in results.items():
        if rounds.runs:
            lines.append(f"* {names[key]}: {rounds.describe()}")
    lines += [f"* {note}" for note in notes]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--couchdb", metavar="URL",
        help="also time POST /_replicate on the Apache CouchDB at URL (http://USER:PASS@HOST:PORT)",
    )  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true",
        help="10x smaller, one round (printed, not recorded in RESULTS.md)",
    )  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    node, npm = tool("node"), tool("npm")
    ensure_node_modules(npm)
    fieldhall = str(Path(sys.executable).parent / "fieldhall")
    if not Path(fieldhall).exists():
        fieldhall = tool("fieldhall")
    info = machine()
    info["node"] = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    info["revision"] = code_revision()
    workdir = work_dir("fieldhall-bench-replicate-")
    servers: list[Server] = []
    try:
        source = start_fieldhall(workdir / "source")
        servers.append(source)
        target = start_fieldhall(workdir / "target")
        servers.append(target)
        couchdb = external_couchdb(args.couchdb) if args.couchdb else None
        setup = Setup(sizes, node, fieldhall, source, target, couchdb)
        notes = [
            f"source database {fill_source(setup)} with `_bulk_docs` (untimed)",
            f"start-up of the `fieldhall` CLI alone (`fieldhall replicate --help`, the fastest "
            f"of 3): {cli_startup(fieldhall):.2f} s",
        ]
        results, dbs = run_rounds(setup)
        problems = verify_targets(setup, dbs)
        notes.append(
            "checked afterwards: every target database holds all "
            f"{sizes.total:,} docs and the source's attachment digests"
            if not problems
            else "**CHECK FAILED**: " + "; ".join(problems)
        )
        section = report(results, setup, info, notes, workdir, args.quick)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(section)
    if not args.quick:
        record(RESULTS_PATH, section)
        print(f"recorded in {RESULTS_PATH}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
