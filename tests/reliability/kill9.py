"""The kill -9 rounds: write with eight writers, SIGKILL the server, restart it, check.

``fieldhall couch serve`` runs as a real process. Each round, the writers (``workload.py``)
write as fast as the server answers until it is SIGKILLed at a random moment; it is then
restarted on the same data directory and port and checked against what each writer was
acknowledged (``checks.py``). The next round's writes prove that the restarted database
accepts writes; after the last round a final set of writes of every kind goes through a clean
restart and a full check.
"""

from __future__ import annotations

import random
import threading
import time
import traceback
from dataclasses import dataclass, field, fields
from pathlib import Path

import httpx

from tests.servers import ADMIN, CouchProcess, free_port

from .checks import Tally, check_after_restart
from .workload import DB, KINDS, Writer

__all__ = ["Run", "run_kill9"]

WRITERS = 8
KILL_AFTER = (0.1, 1.6)  # seconds of writing before the SIGKILL, drawn uniformly
JOIN_TIMEOUT = 60.0  # writers stop at their first failed request; this is a bound
COMPACT_PAUSE = 0.05  # between two POST /db/_compact of the optional compactor
MAX_COMPACTIONS = 1_000  # per round; a bound, the kill comes first


class RoundFailed(AssertionError):
    """Raised when a round's writes or the check after its restart found problems."""


@dataclass
class Run:
    seed: int
    rounds: int
    started: float = field(default_factory=time.monotonic)
    writers: list[Writer] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    compactions: int = 0

    def acked_by_kind(self) -> dict[str, int]:
        return {kind: sum(w.acked[kind] for w in self.writers) for kind in KINDS}

    def acked(self) -> int:
        return sum(self.acked_by_kind().values())

    def unknown(self) -> int:
        return sum(sum(w.unknown.values()) for w in self.writers)

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in self.acked_by_kind().items())
        t = self.tally
        return (
            f"kill -9: {self.rounds} rounds x {WRITERS} writers, seed {self.seed}, "
            f"{time.monotonic() - self.started:.0f}s: {t.acked_verified} acknowledged writes "
            f"verified ({kinds}); {self.unknown()} requests unanswered, of their writes "
            f"{t.unknown_applied} found applied, {t.unknown_absent} not; {t.attachments_read} "
            f"attachment reads, {t.bytes_read / 2**20:.0f} MB"
            + (f"; {self.compactions} compactions" if self.compactions else "")
        )


def _fail(run: Run, what: str, problems: list[str], server: CouchProcess) -> RoundFailed:
    shown = "\n  ".join(problems[:25])
    more = f"\n  … and {len(problems) - 25} more" if len(problems) > 25 else ""
    log = server.data_dir.parent / f"server-{server.port}.log"
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    return RoundFailed(
        f"seed {run.seed}, {what}: {len(problems)} problem(s)\n  {shown}{more}"
        f"\n--- server log (tail) ---\n{tail}"
    )


def _add(total: Tally, tally: Tally) -> None:
    for f in fields(Tally):
        setattr(total, f.name, getattr(total, f.name) + getattr(tally, f.name))


def _compact_until_killed(run: Run, server: CouchProcess, crashed: list[str]) -> None:
    with httpx.Client(base_url=server.url, auth=ADMIN, timeout=30.0) as client:
        for _ in range(MAX_COMPACTIONS):
            try:
                response = client.post(f"/{DB}/_compact", json={})
            except httpx.TransportError:
                return
            if response.status_code != 202:
                crashed.append(f"compactor: {response.status_code} {response.text[:200]}")
                return
            run.compactions += 1
            time.sleep(COMPACT_PAUSE)


def _write_round(
    run: Run, server: CouchProcess, round_no: int, pause: float, *, compact: bool
) -> None:
    """Run every writer until the server is SIGKILLed ``pause`` seconds in."""
    crashed: list[str] = []

    def write(writer: Writer) -> None:
        try:
            writer.run_round(server.url, ADMIN, round_no)
        except Exception:
            crashed.append(f"writer {writer.index}: {traceback.format_exc()}")

    threads = [threading.Thread(target=write, args=(w,), daemon=True) for w in run.writers]
    if compact:
        threads.append(
            threading.Thread(target=_compact_until_killed, args=(run, server, crashed), daemon=True)
        )
    for thread in threads:
        thread.start()
    time.sleep(pause)
    server.kill()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    if any(t.is_alive() for t in threads):
        raise _fail(run, f"round {round_no}", ["a writer kept going after the kill"], server)
    problems = crashed + [p for w in run.writers for p in w.problems]
    if problems:
        raise _fail(run, f"round {round_no}, while writing", problems, server)


def _check(run: Run, server: CouchProcess, rng: random.Random, what: str, full: bool) -> None:
    with httpx.Client(base_url=server.url, auth=ADMIN, timeout=60.0) as client:
        problems, tally = check_after_restart(client, run.writers, rng, full=full)
    if problems:
        raise _fail(run, what, problems, server)
    _add(run.tally, tally)


def _final_writes(run: Run, server: CouchProcess) -> None:
    """Writes of every kind on the restarted database, new documents and old ones."""
    probe = Writer(WRITERS, run.seed + 1)
    probe.round = run.rounds + 1
    with httpx.Client(base_url=server.url, auth=ADMIN, timeout=30.0) as client:
        for kind in [*KINDS, *KINDS]:
            if not probe.write(client, kind):
                raise _fail(run, f"writing ({kind}) after restart", probe.problems, server)
        for writer in run.writers[:2]:
            for kind in ("update", "att_put", "local"):
                if not writer.write(client, kind):
                    raise _fail(run, f"{kind} after restart", writer.problems, server)
    run.writers.append(probe)


def run_kill9(tmp_path: Path, *, rounds: int, seed: int, compact: bool = False) -> Run:
    """``rounds`` kill -9 rounds on one data directory; raises :class:`RoundFailed`.

    With ``compact``, a ninth thread POSTs ``/db/_compact`` in a loop during the writes.
    """
    rng = random.Random(seed)
    run = Run(seed, rounds)
    run.writers = [Writer(i, rng.getrandbits(63)) for i in range(WRITERS)]
    server = CouchProcess(tmp_path / "data", port=free_port())
    try:
        server.start()
        with httpx.Client(base_url=server.url, auth=ADMIN, timeout=30.0) as client:
            response = client.put(f"/{DB}")
            if response.status_code != 201:
                raise _fail(run, "creating the database", [response.text], server)
        for round_no in range(1, rounds + 1):
            _write_round(run, server, round_no, rng.uniform(*KILL_AFTER), compact=compact)
            server.start()  # the same data directory and port
            _check(run, server, rng, f"round {round_no}, after restart", full=round_no == rounds)
        _final_writes(run, server)
        server.stop()
        server.start()
        _check(run, server, rng, "after the final clean restart", full=True)
    finally:
        server.kill()
    return run
