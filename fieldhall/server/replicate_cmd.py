"""``fieldhall replicate SOURCE TARGET``: CouchDB's replication between any two
CouchDB-protocol databases, from the command line.

Exit status: 0 when the replication completed (or a continuous one was stopped with Ctrl-C
or SIGTERM), 1 when it failed — with one line on stderr saying why — and 2 for a usage error.
With ``--json``, stdout is exactly one JSON object: the final statistics, or the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO

import click
import orjson

from fieldhall.sync.replicator import (
    DatabaseNotFound,
    Endpoint,
    PeerProtocolError,
    PeerUnauthorized,
    PeerUnreachable,
    Progress,
    Replication,
    ReplicationError,
    ReplicationJob,
    State,
)
from fieldhall.sync.replicator.changes import seq_number

__all__ = ["render_progress", "replicate"]

_ERROR_KINDS: list[tuple[type[ReplicationError], str]] = [
    (PeerUnreachable, "unreachable"),
    (PeerUnauthorized, "unauthorized"),
    (DatabaseNotFound, "not_found"),
    (PeerProtocolError, "protocol_error"),
]
_BAR_WIDTH = 30
_REDRAW_SECONDS = 0.1


def _credentials(value: str | None, option: str) -> tuple[str, str] | None:
    if value is None:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user:
        raise click.BadParameter("expected USER:PASSWORD", param_hint=option)
    return user, password


def _endpoint(url: str, auth: tuple[str, str] | None, name: str) -> Endpoint:
    try:
        return Endpoint.parse(url, auth)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None


def _selector(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        selector = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise click.BadParameter("not valid JSON", param_hint="--selector") from None
    if not isinstance(selector, dict):
        raise click.BadParameter("a selector is a JSON object", param_hint="--selector")
    return selector


def _doc_ids(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    ids = tuple(i.strip() for i in value.split(",") if i.strip())
    if not ids:
        raise click.BadParameter("no document ids given", param_hint="--doc-ids")
    return ids


def render_progress(progress: Progress, width: int = _BAR_WIDTH) -> str:
    """One line: a bar over the source's sequence numbers (an estimate) and the counters."""
    stats = progress.stats
    counters = (
        f"{stats.docs_read} read, {stats.docs_written} written, {stats.doc_write_failures} failed"
    )
    if progress.state is State.IDLE:
        return f"up to date, waiting for changes  {counters}"
    start = seq_number(progress.start_last_seq) or 0
    now, end = seq_number(progress.end_last_seq), seq_number(progress.source_seq)
    if now is None or end is None or end <= start:
        fraction = 1.0 if progress.state is State.COMPLETED else 0.0
    else:
        fraction = min(1.0, max(0.0, (now - start) / (end - start)))
    filled = int(fraction * width)
    state = "" if progress.state is State.RUNNING else f"  ({progress.state.value})"
    return f"[{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%}  {counters}{state}"


class _Bar:
    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.last = 0.0
        self.drawn = False

    def __call__(self, progress: Progress) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if now - self.last < _REDRAW_SECONDS and not progress.state.finished:
            return
        self.last = now
        self.stream.write("\r\x1b[K" + render_progress(progress))
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.stream is not None and self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def _terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def _stop_on_signals(job: ReplicationJob) -> Iterator[None]:
    """Ctrl-C and SIGTERM cancel the job (its checkpoints are kept) instead of killing us."""
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, job.cancel)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread, or no signals here
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


async def _run(replication: Replication, bar: _Bar) -> tuple[Progress, ReplicationError | None]:
    job = ReplicationJob(replication, on_progress=bar).start()
    with _stop_on_signals(job):
        try:
            return await job.wait(), None
        except ReplicationError as exc:
            return job.progress, exc


def _kind(error: ReplicationError) -> str:
    for cls, kind in _ERROR_KINDS:
        if isinstance(error, cls):
            return kind
    return "replication_failed"


@click.command("replicate")
@click.argument("source")
@click.argument("target")
@click.option("--continuous", is_flag=True, help="Keep replicating new changes until stopped.")
@click.option("--create-target", is_flag=True, help="Create the target database if missing.")
@click.option("--doc-ids", metavar="A,B,…", help="Replicate only these documents.")
@click.option("--selector", metavar="JSON", help="Replicate only documents matching a selector.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Changes per batch (a checkpoint follows each).",
)
@click.option("--source-auth", metavar="USER:PASS", help="Credentials for SOURCE.")
@click.option("--target-auth", metavar="USER:PASS", help="Credentials for TARGET.")
@click.option("--json", "as_json", is_flag=True, help="Print the final statistics as JSON.")
def replicate(
    source: str,
    target: str,
    continuous: bool,
    create_target: bool,
    doc_ids: str | None,
    selector: str | None,
    batch_size: int,
    source_auth: str | None,
    target_auth: str | None,
    as_json: bool,
) -> None:
    """Replicate the database at SOURCE to the one at TARGET (URLs, credentials in them or
    given with --source-auth/--target-auth), as CouchDB's replicator does: every revision,
    conflicts and deletions included, attachments byte for byte, resuming from checkpoints."""
    ids, mango = _doc_ids(doc_ids), _selector(selector)
    if ids is not None and mango is not None:
        raise click.UsageError("give --doc-ids or --selector, not both")
    replication = Replication(
        _endpoint(source, _credentials(source_auth, "--source-auth"), "SOURCE"),
        _endpoint(target, _credentials(target_auth, "--target-auth"), "TARGET"),
        continuous=continuous,
        create_target=create_target,
        doc_ids=ids,
        selector=mango,
        batch_size=batch_size,
    )
    bar = _Bar(sys.stderr if _terminal(sys.stderr) else None)
    try:
        progress, error = asyncio.run(_run(replication, bar))
    finally:
        bar.close()
    if as_json:
        result = progress.to_json()
        if error is not None:
            result |= {"ok": False, "error": _kind(error), "reason": str(error)}
        click.echo(orjson.dumps(result).decode())
    elif error is None:
        stats = progress.stats
        click.echo(
            f"{progress.state.value}: {stats.docs_written} written, {stats.docs_read} read,"
            f" {stats.doc_write_failures} failed (seq {progress.start_last_seq}"
            f" → {progress.end_last_seq})",
            err=True,
        )
    if error is not None:
        click.echo(f"fieldhall replicate: error: {error}", err=True)
        sys.exit(1)
    if progress.state is State.CANCELLED and not continuous:
        sys.exit(130)


if __name__ == "__main__":
    replicate(prog_name="fieldhall replicate")
