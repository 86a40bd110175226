"""Sync benchmark (issue 3 §6): ``fieldhall couch serve`` against ``pouchdb-server`` (and, with
``--couchdb URL``, an Apache CouchDB), side by side in one run, printed as a markdown table and
recorded in ``bench/RESULTS.md``.

    .venv/bin/python bench/sync_bench.py [--couchdb URL] [--quick]   # or: fieldhall bench sync

(a) PouchDB push of 1 KB docs, (b) PouchDB pull of them, (c) PouchDB push of docs with a 500 KB
attachment each (PouchDB in Node, memory adapter, default replication options; bench/*.js);
(d) direct ``_bulk_docs`` from httpx, bodies encoded beforehand; (e) one ``_changes`` page at
the end of a small and of a large database (median of several requests); (f) peak server RSS
(VmHWM) while one ``_bulk_docs`` of 3 MB inline attachments is accepted.

Measures run one server at a time, so client and server share the machine the same way for
each. The figures are wall-clock times as the client sees them.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sync_report import (
    COUCHDB,
    FIELDHALL,
    POUCHDB,
    Figure,
    filesystem_of,
    heading,
    machine,
    record,
    render_table,
    work_dir,
)
from sync_servers import (
    BENCH_DIR,
    Server,
    ServerFailed,
    external_couchdb,
    peak_rss_bytes,
    reset_peak_rss,
    rss_bytes,
    start_fieldhall,
    start_pouchdb_server,
)

RESULTS_PATH = BENCH_DIR / "RESULTS.md"
NODE_SCRIPT = "pouchdb_client.js"
NODE_TIMEOUT_S = 1800
NPM_TIMEOUT_S = 900
RSS_SAMPLE_S = 0.01  # VmRSS polling during (f), a cross-check of VmHWM
MB = 1_000_000


class BenchError(RuntimeError):
    """Raised when a measurement cannot be taken (a client failed, a server answered wrongly)."""


@dataclass(frozen=True, slots=True)
class Sizes:
    docs: int = 10_000  # (a), (b)
    doc_bytes: int = 1024
    attachment_docs: int = 300  # (c)
    attachment_bytes: int = 500 * 1024
    bulk_requests: int = 20  # (d)
    bulk_docs: int = 500
    rounds: int = 3  # (a)-(d) run this many times, interleaved; the best counts
    changes_small: int = 10_000  # (e)
    changes_large: int = 200_000
    changes_page: int = 1000
    changes_repeats: int = 31  # the median of these, after one warm-up request
    changes_doc_bytes: int = 200  # the feed does not carry bodies: small docs fill faster
    fill_batch: int = 10_000
    rss_docs: int = 100  # (f)
    rss_attachment_bytes: int = 3 * 1024 * 1024

    def labels(self) -> dict[str, object]:
        return {
            "docs": self.docs,
            "attachment_docs": self.attachment_docs,
            "attachment_kb": self.attachment_bytes // 1024,
            "bulk_requests": self.bulk_requests,
            "bulk_docs": self.bulk_docs,
            "changes_page": self.changes_page,
            "changes_small": self.changes_small,
            "changes_large": self.changes_large,
            "rss_docs": self.rss_docs,
            "rss_mb": self.rss_attachment_bytes // (1024 * 1024),
        }


FULL = Sizes()
QUICK = Sizes(
    docs=1000, attachment_docs=30, bulk_docs=50, rounds=1, changes_small=1000, changes_large=20_000,
    changes_page=100, changes_repeats=5, fill_batch=5000, rss_docs=10,
)  # fmt: skip


# -- documents ------------------------------------------------------------------------------


def make_doc(doc_id: str, n: int, size: int, rng: random.Random) -> dict[str, object]:
    """A document whose JSON is about ``size`` bytes: a few fields and random printable text."""
    doc: dict[str, object] = {"_id": doc_id, "type": "case", "n": n, "text": ""}
    filler = max(0, size - len(json.dumps(doc)))
    doc["text"] = base64.b64encode(rng.randbytes(filler)).decode()[:filler]
    return doc


def bulk_body(prefix: str, start: int, count: int, size: int, rng: random.Random) -> bytes:
    docs = [make_doc(f"{prefix}-{i:07d}", i, size, rng) for i in range(start, start + count)]
    return json.dumps({"docs": docs}, separators=(",", ":")).encode()


def attachment_batch_body(count: int, size: int) -> bytes:
    """One ``_bulk_docs`` body of ``count`` docs, each with a ``size``-byte inline attachment
    of random (incompressible, never shared) bytes."""
    parts = []
    for i in range(count):
        data = base64.b64encode(os.urandom(size))
        parts.append(
            b'{"_id":"photo-%04d","type":"photo","_attachments":{"photo.jpg":'
            b'{"content_type":"image/jpeg","data":"%s"}}}' % (i, data)
        )
    return b'{"docs":[' + b",".join(parts) + b"]}"


def post_bulk(client: httpx.Client, db: str, body: bytes, expected: int) -> float:
    """POSTs a prepared ``_bulk_docs`` body; the seconds it took. Every doc must be stored."""
    started = time.perf_counter()
    response = client.post(
        f"/{db}/_bulk_docs", content=body, headers={"Content-Type": "application/json"}
    )
    seconds = time.perf_counter() - started
    if response.status_code != 201:
        raise BenchError(f"_bulk_docs: {response.status_code} {response.text[:300]}")
    rows = response.json()
    failed = [row for row in rows if "error" in row]
    if len(rows) != expected or failed:
        raise BenchError(f"_bulk_docs: {len(rows)}/{expected} rows, errors {failed[:3]}")
    return seconds


def create_db(client: httpx.Client, db: str) -> None:
    response = client.put(f"/{db}")
    if response.status_code not in (201, 202):
        raise BenchError(f"PUT /{db}: {response.status_code} {response.text[:300]}")


# -- measures -------------------------------------------------------------------------------


@dataclass
class Context:
    sizes: Sizes
    node: str
    bulk_bodies: list[bytes]
    rss_body: Callable[[], bytes]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_node(ctx: Context, mode: str, server: Server, db: str, *args: int) -> dict[str, float]:
    """Runs a PouchDB mode of bench/pouchdb_client.js; its JSON summary, with the CPU seconds
    the Node client (``client_cpu``) and the server (``server_cpu``, when it is ours) spent."""
    command = [ctx.node, NODE_SCRIPT, mode, server.auth_url, db, *map(str, args)]
    server_before = cpu_seconds(server.pid) if server.pid is not None else None
    client_before = children_cpu_seconds()
    try:
        done = subprocess.run(
            command, cwd=BENCH_DIR, capture_output=True, text=True, timeout=NODE_TIMEOUT_S
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"node {mode}: no result within {NODE_TIMEOUT_S} s") from exc
    server.check_alive()
    if done.returncode != 0:
        raise BenchError(f"node {mode}: {done.stderr.strip()[-600:]}")
    summary: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    summary["client_cpu"] = children_cpu_seconds() - client_before
    if server.pid is not None and server_before is not None:
        summary["server_cpu"] = cpu_seconds(server.pid) - server_before
    return summary


def _rate(summary: dict[str, float]) -> Figure:
    """docs/s, how much of the time a request to the server was in flight, and the CPU time
    of the client and the server: on a shared machine they say more than the wall clock, and
    PouchDB's own share bounds what a faster server can gain."""
    seconds, http = summary["seconds"], summary["http_seconds"]
    cpu = f"; CPU: PouchDB (Node, start-up included) {summary['client_cpu']:.2f} s"
    if "server_cpu" in summary:
        cpu += f", server {summary['server_cpu']:.2f} s"
    return Figure(
        summary["docs"] / seconds,
        f"{summary['docs']:,.0f} docs in {seconds:.2f} s; a request in flight "
        f"{http:.2f} s ({100 * http / seconds:.0f}%), {summary['requests']:,.0f} requests{cpu}",
    )


def measure_push(server: Server, ctx: Context, tag: str) -> dict[str, Figure]:
    """(a) PouchDB replicates ``docs`` 1 KB docs from a memory db to the server."""
    sizes = ctx.sizes
    summary = run_node(ctx, "push-docs", server, server.db(f"a{tag}"), sizes.docs, sizes.doc_bytes)
    return {"a": _rate(summary)}


def measure_pull(server: Server, ctx: Context, tag: str) -> dict[str, Figure]:
    """(b) PouchDB replicates (a)'s database from the server into a fresh memory db."""
    return {"b": _rate(run_node(ctx, "pull", server, server.db(f"a{tag}"), ctx.sizes.docs))}


def measure_attachments(server: Server, ctx: Context, tag: str) -> dict[str, Figure]:
    """(c) PouchDB pushes docs that each carry one random attachment."""
    sizes = ctx.sizes
    summary = run_node(
        ctx, "push-attachments", server, server.db(f"c{tag}"),
        sizes.attachment_docs, sizes.attachment_bytes,
    )  # fmt: skip
    docs = _rate(summary)
    megabytes = summary["bytes"] / MB
    throughput = Figure(
        megabytes / summary["seconds"], f"{megabytes:,.0f} MB in {summary['seconds']:.2f} s"
    )
    return {"c_docs": docs, "c_mb": throughput}


def measure_bulk_docs(server: Server, ctx: Context, tag: str) -> dict[str, Figure]:
    """(d) The prepared ``_bulk_docs`` bodies, one after another on one connection."""
    sizes = ctx.sizes
    db = server.db(f"d{tag}")
    with server.client() as client:
        create_db(client, db)
        seconds = sum(post_bulk(client, db, body, sizes.bulk_docs) for body in ctx.bulk_bodies)
    docs = sizes.bulk_requests * sizes.bulk_docs
    return {"d": Figure(docs / seconds, f"{docs:,} docs in {seconds:.2f} s")}


def fill(client: httpx.Client, db: str, count: int, ctx: Context) -> float:
    """Creates ``db`` with ``count`` small docs by large ``_bulk_docs``; the docs/s (encoding
    the bodies not counted)."""
    create_db(client, db)
    rng = random.Random(count)
    batch = ctx.sizes.fill_batch
    seconds = 0.0
    for start in range(0, count, batch):
        n = min(batch, count - start)
        body = bulk_body("seq", start, n, ctx.sizes.changes_doc_bytes, rng)
        seconds += post_bulk(client, db, body, n)
    return count / seconds


def tail_params(client: httpx.Client, db: str, page: int) -> dict[str, str | int]:
    """``since`` = the seq ``page`` changes before the end (from a descending feed), ``limit``."""
    tail = client.get(f"/{db}/_changes", params={"descending": "true", "limit": page + 1})
    tail.raise_for_status()
    rows = tail.json()["results"]
    if len(rows) != page + 1:
        raise BenchError(f"descending _changes gave {len(rows)} rows, not {page + 1}")
    return {"since": rows[-1]["seq"], "limit": page}


def changes_page_ms(client: httpx.Client, db: str, params: dict[str, str | int]) -> float:
    started = time.perf_counter()
    response = client.get(f"/{db}/_changes", params=params)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    got = len(response.json()["results"])
    if got != params["limit"]:
        raise BenchError(f"_changes {params} gave {got} rows")
    return elapsed * 1000


def measure_changes(server: Server, ctx: Context, tag: str) -> dict[str, Figure]:
    """(e) One ``_changes`` page at the end of a small and of a large database: both filled
    first, then the requests alternate between them (after one warm-up each), so that other
    load on the machine falls on both alike; the median of each."""
    sizes = ctx.sizes
    dbs = {"e_small": sizes.changes_small, "e_large": sizes.changes_large}
    fill_rates: dict[str, float] = {}
    params: dict[str, tuple[str, dict[str, str | int]]] = {}
    times: dict[str, list[float]] = {}
    with server.client() as client:
        for key, count in dbs.items():
            db = server.db(f"e{count}{tag}")
            fill_rates[key] = fill(client, db, count, ctx)
            params[key] = (db, tail_params(client, db, sizes.changes_page))
            changes_page_ms(client, *params[key])  # warm-up
            times[key] = []
        for _ in range(sizes.changes_repeats):
            for key in dbs:
                times[key].append(changes_page_ms(client, *params[key]))
    figures = {}
    for key, taken in times.items():
        spread = f"median of {len(taken)}, {min(taken):.1f}–{max(taken):.1f} ms"
        detail = f"{spread}; filled at {fill_rates[key]:,.0f} docs/s"
        figures[key] = Figure(statistics.median(taken), detail)
    small, large = statistics.median(times["e_small"]), statistics.median(times["e_large"])
    fastest = min(times["e_large"]) / min(times["e_small"])
    detail = f"{large:.1f} ms / {small:.1f} ms (the fastest requests' ratio: {fastest:.2f})"
    figures["e_ratio"] = Figure(large / small, detail)
    return figures


def _sample_rss(pid: int, stop: threading.Event, peak: list[int]) -> None:
    while not stop.wait(RSS_SAMPLE_S):
        try:
            peak[0] = max(peak[0], rss_bytes(pid))
        except OSError:
            return  # the process is gone


def measure_peak_rss(server: Server, ctx: Context, tag: str) -> dict[str, Figure]:
    """(f) VmHWM of the server process while it accepts one ``_bulk_docs`` of large inline
    attachments (VmHWM is reset first; a 10 ms VmRSS sampler cross-checks it)."""
    pid = server.pid
    if pid is None:
        raise BenchError("not our process: no RSS")
    sizes = ctx.sizes
    body = ctx.rss_body()
    db = server.db(f"f{tag}")
    with server.client() as client:
        create_db(client, db)
        baseline = rss_bytes(pid)
        was_reset = reset_peak_rss(pid)
        stop, sampled = threading.Event(), [baseline]
        sampler = threading.Thread(target=_sample_rss, args=(pid, stop, sampled), daemon=True)
        sampler.start()
        try:
            seconds = post_bulk(client, db, body, sizes.rss_docs)
            peak = peak_rss_bytes(pid)
        finally:
            stop.set()
            sampler.join(timeout=5)
    detail = (
        f"body {len(body) / MB:,.0f} MB accepted in {seconds:.1f} s; RSS before "
        f"{baseline / MB:,.0f} MB; sampled max VmRSS {sampled[0] / MB:,.0f} MB"
    )
    if not was_reset:
        detail += "; VmHWM could not be reset: it is the peak since the server started"
    return {"f": Figure(peak / MB, detail)}


@dataclass(frozen=True, slots=True)
class Measure:
    keys: tuple[str, ...]
    run: Callable[[Server, Context, str], dict[str, Figure]]  # (server, context, db name tag)
    repeated: bool = False  # run ``sizes.rounds`` times, the best counts
    own_process_only: bool = False


MEASURES = (
    Measure(("a",), measure_push, repeated=True),
    Measure(("b",), measure_pull, repeated=True),
    Measure(("c_docs", "c_mb"), measure_attachments, repeated=True),
    Measure(("d",), measure_bulk_docs, repeated=True),
    Measure(("e_small", "e_large", "e_ratio"), measure_changes),
    Measure(("f",), measure_peak_rss, own_process_only=True),
)


# -- the run --------------------------------------------------------------------------------


def ensure_node_modules(npm: str) -> None:
    """``npm ci`` in bench/ when bench/node_modules is missing or older than the lock file."""
    installed = BENCH_DIR / "node_modules" / ".package-lock.json"
    lock = BENCH_DIR / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    print(f"npm ci in {BENCH_DIR} ...", file=sys.stderr)
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=BENCH_DIR, check=True, timeout=NPM_TIMEOUT_S,
    )  # fmt: skip


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"sync_bench: `{name}` is not on PATH (Node.js 18+ is needed)")
    return found


def revision() -> str:
    """The checkout's commit, and whether the working tree differs from it (read-only git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=BENCH_DIR,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "fieldhall"],
            cwd=BENCH_DIR.parent,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "at an unknown revision"
    return f"at {head}" + (" with uncommitted changes in fieldhall/" if dirty else "")


def make_context(sizes: Sizes, node: str) -> Context:
    rng = random.Random(20)
    bodies = [
        bulk_body(f"bulk-{r:02d}", 0, sizes.bulk_docs, sizes.doc_bytes, rng)
        for r in range(sizes.bulk_requests)
    ]
    cache: list[bytes] = []

    def rss_body() -> bytes:
        if not cache:  # ~400 MB: built once, when (f) first needs it
            cache.append(attachment_batch_body(sizes.rss_docs, sizes.rss_attachment_bytes))
        return cache[0]

    return Context(sizes, node, bodies, rss_body)


def run_once(measure: Measure, server: Server, ctx: Context, tag: str) -> dict[str, Figure]:
    print(f"{measure.run.__name__} {tag} on {server.name} ...", file=sys.stderr, flush=True)
    try:
        server.check_alive()
        return measure.run(server, ctx, tag)
    except (BenchError, ServerFailed, httpx.HTTPError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        return {key: Figure(None, error=error) for key in measure.keys}


def best_of(figures: list[Figure]) -> Figure:
    """The highest of several rounds' figures, its detail listing them all."""
    taken = [figure for figure in figures if figure.value is not None]
    if len(figures) == 1 or not taken:
        return figures[0]
    best = max(taken, key=lambda figure: figure.value or 0.0)
    values = ", ".join("error" if f.value is None else f"{f.value:,.1f}" for f in figures)
    return Figure(best.value, f"best of {len(figures)} rounds ({values}): {best.detail}")


def run_measures(servers: dict[str, Server], ctx: Context) -> Iterator[tuple[str, str, Figure]]:
    """(measure key, column, figure) for every measure on every server. Repeated measures run
    in rounds that alternate between the servers, so a busy spell of the machine does not
    fall on one server only."""
    for measure in MEASURES:
        runs: dict[str, list[dict[str, Figure]]] = {column: [] for column in servers}
        for round_ in range(ctx.sizes.rounds if measure.repeated else 1):
            for column, server in servers.items():
                if not (measure.own_process_only and server.pid is None):
                    runs[column].append(run_once(measure, server, ctx, str(round_ + 1)))
        for column, taken in runs.items():
            for key in measure.keys if taken else ():
                yield key, column, best_of([figures[key] for figures in taken])


def cleanup_external(server: Server) -> None:
    with server.client(timeout=60.0) as client:
        for db in client.get("/_all_dbs").json():
            if db.startswith(server.db_prefix + "-"):
                client.delete(f"/{db}")


def report(
    results: dict[str, dict[str, Figure]], servers: dict[str, Server], sizes: Sizes,
    info: dict[str, str], workdir: Path, quick: bool,
) -> str:  # fmt: skip
    columns = {column: server.name for column, server in servers.items()}
    rounds = (
        f"the best of {sizes.rounds} rounds, alternating servers"
        if sizes.rounds > 1
        else "one round"
    )
    lines = [
        heading(info, quick),
        "",
        f"fieldhall {info['revision']}. Load average at the start: {info['load']}, at the end: "
        f"{machine()['load']}. Data directories on {filesystem_of(workdir)} ({workdir.parent}). "
        f"Client: PouchDB 9.0.0 in Node {info['node']} (memory adapter, default replication "
        f"options) and httpx. (a)–(d): {rounds}; (e): the median of {sizes.changes_repeats} "
        "requests after a warm-up.",
        "",
    ]
    lines += [f"* {server.name}: {'; '.join(server.notes)}" for server in servers.values()]
    lines += ["", render_table(results, columns, sizes.labels()), "", "Details:", ""]
    for key, by_column in results.items():
        for column, figure in by_column.items():
            text = figure.error if figure.error else figure.detail
            if text:
                lines.append(f"* {key}, {servers[column].name}: {text}")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--couchdb", metavar="URL",
        help="also measure (a)-(e) against the Apache CouchDB at URL (http://USER:PASS@HOST:PORT)",
    )  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true",
        help="about 10x smaller, a smoke run (printed, not recorded in RESULTS.md)",
    )  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = QUICK if args.quick else FULL
    node, npm = tool("node"), tool("npm")
    ensure_node_modules(npm)
    info = machine()
    info["node"] = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    info["revision"] = revision()
    workdir = work_dir("fieldhall-bench-")
    servers: dict[str, Server] = {}
    try:
        servers[FIELDHALL] = start_fieldhall(workdir / "fieldhall")
        servers[POUCHDB] = start_pouchdb_server(workdir / "pouchdb-server", node)
        if args.couchdb:
            servers[COUCHDB] = external_couchdb(args.couchdb)
        ctx = make_context(sizes, node)
        results: dict[str, dict[str, Figure]] = {}
        for key, column, figure in run_measures(servers, ctx):
            results.setdefault(key, {})[column] = figure
        section = report(results, servers, sizes, info, workdir, args.quick)
    finally:
        for server in servers.values():
            server.stop()
        if COUCHDB in servers:
            cleanup_external(servers[COUCHDB])
        shutil.rmtree(workdir, ignore_errors=True)
    print(section)
    if not args.quick:
        record(RESULTS_PATH, section)
        print(f"recorded in {RESULTS_PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
