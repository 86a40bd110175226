"""``fieldhall bench``: runs the benchmark harnesses of the repository checkout (``bench/``).

``bench/`` is not part of the installed package, so the command finds it next to the package
(an editable install, as ``make`` does) or under the current directory, and runs the harness
with this interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

__all__ = ["bench"]


def _harness(name: str) -> Path:
    candidates = [
        Path(__file__).resolve().parents[2] / "bench" / name,
        Path.cwd() / "bench" / name,
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise click.ClickException(
        f"bench/{name} not found: run from a fieldhall checkout (pip install -e .)"
    )


@click.group()
def bench() -> None:
    """Benchmarks from the repository checkout (bench/); results in bench/RESULTS.md."""


def _run(harness: str, *, couchdb: str | None = None, quick: bool = False) -> None:
    argv = [sys.executable, str(_harness(harness))]
    if couchdb:
        argv += ["--couchdb", couchdb]
    if quick:
        argv.append("--quick")
    raise SystemExit(subprocess.run(argv, check=False).returncode)


@bench.command("sync")
@click.option("--couchdb", metavar="URL", help="Also measure an Apache CouchDB (USER:PASS in URL).")
@click.option("--quick", is_flag=True, help="About 10x smaller: a smoke run, not recorded.")
def sync(couchdb: str | None, quick: bool) -> None:
    """fieldhall couch serve vs pouchdb-server: PouchDB push/pull, _bulk_docs, _changes, RSS."""
    _run("sync_bench.py", couchdb=couchdb, quick=quick)


@bench.command("replicate")
@click.option(
    "--couchdb", metavar="URL", help="Also time POST /_replicate on an Apache CouchDB (USER:PASS)."
)
@click.option("--quick", is_flag=True, help="10x smaller, one round: a smoke run, not recorded.")
def replicate(couchdb: str | None, quick: bool) -> None:
    """fieldhall replicate vs PouchDB's replicator between two couch serve servers."""
    _run("replicate_bench.py", couchdb=couchdb, quick=quick)


@bench.command("field")
@click.option("--quick", is_flag=True, help="10x smaller, one round: a smoke run, not recorded.")
def field(quick: bool) -> None:
    """Verified ingest of signed cases vs plain couch serve; an agent's first pull."""
    _run("field_bench.py", quick=quick)


@bench.command("hall")
@click.option("--quick", is_flag=True, help="10x smaller: a smoke run, not recorded.")
def hall(quick: bool) -> None:
    """The projector's cases/s and the inbox query's p95 at 200,000 cases (SQLite and PG)."""
    _run("hall_bench.py", quick=quick)
