"""The sync benchmark's report: figures per server, the targets of issue 3 §6 with a verdict
each, the machine the run was on, and ``bench/RESULTS.md`` (newest run first)."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ROWS", "Figure", "Row", "Target", "machine", "record", "render_table"]

FIELDHALL = "fieldhall"
POUCHDB = "pouchdb-server"
COUCHDB = "couchdb"
COLUMNS = (FIELDHALL, POUCHDB, COUCHDB)

RESULTS_INTRO = """# Sync benchmark results

`make bench` / `fieldhall bench sync` (bench/sync_bench.py): `fieldhall couch serve` against
`pouchdb-server` (bench/package-lock.json) and, with `--couchdb URL`, an Apache CouchDB, side
by side in one run. Targets from issue 3 §6. Newest run first; `--quick` runs are not recorded.
"""


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured value (None when the measurement failed: then ``error`` says why)."""

    value: float | None
    detail: str = ""
    error: str | None = None


Results = Mapping[str, Mapping[str, Figure]]  # measure key -> column -> figure


@dataclass(frozen=True, slots=True)
class Target:
    """What fieldhall's figure must satisfy: ``text`` for the table, ``check`` gives
    (passed, how it compares) or None when a figure it needs is missing."""

    text: Callable[[Mapping[str, Figure]], str]
    check: Callable[[Mapping[str, Figure]], tuple[bool, str] | None]


def at_least_times(factor: float, column: str, label: str) -> Target:
    def bound(figures: Mapping[str, Figure]) -> float | None:
        reference = figures.get(column)
        if reference is None or reference.value is None:
            return None
        return factor * reference.value

    def text(figures: Mapping[str, Figure]) -> str:
        limit = bound(figures)
        suffix = "" if limit is None else f" (≥ {limit:,.0f})"
        return f"≥ {factor:g}× {label}{suffix}"

    def check(figures: Mapping[str, Figure]) -> tuple[bool, str] | None:
        ours, reference = figures.get(FIELDHALL), figures.get(column)
        if ours is None or ours.value is None or reference is None or not reference.value:
            return None
        ratio = ours.value / reference.value
        return ratio >= factor, f"{ratio:.2f}×"

    return Target(text, check)


def at_most(limit: float, text: str, strict: bool = False) -> Target:
    def check(figures: Mapping[str, Figure]) -> tuple[bool, str] | None:
        ours = figures.get(FIELDHALL)
        if ours is None or ours.value is None:
            return None
        return (ours.value < limit if strict else ours.value <= limit), ""

    return Target(lambda _figures: text, check)


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    label: str
    unit: str
    decimals: int
    target: Target | None = None
    needs: str | None = None  # a column without which the row is left out


ROWS = (
    Row("a", "(a) PouchDB push, {docs:,} × 1 KB docs", "docs/s", 0,
        at_least_times(2, POUCHDB, "pouchdb-server")),
    Row("b", "(b) PouchDB pull of them into a fresh memory db", "docs/s", 0,
        at_least_times(2, POUCHDB, "pouchdb-server")),
    Row("c_docs", "(c) PouchDB push, {attachment_docs:,} docs × {attachment_kb:,} KB attachment",
        "docs/s", 1, at_least_times(1, POUCHDB, "pouchdb-server")),
    Row("c_mb", "(c) the same, throughput", "MB/s", 1,
        at_least_times(1, POUCHDB, "pouchdb-server")),
    Row("d", "(d) {bulk_requests} × `_bulk_docs` of {bulk_docs} docs (httpx)", "docs/s", 0,
        at_least_times(2, POUCHDB, "pouchdb-server")),
    Row("d", "(d) stretch: against Apache CouchDB", "docs/s", 0,
        at_least_times(1, COUCHDB, "Apache CouchDB"), needs=COUCHDB),
    Row("e_small", "(e) `_changes` page of {changes_page:,} at the end of {changes_small:,} docs",
        "ms", 1),
    Row("e_large", "(e) the same at the end of {changes_large:,} docs", "ms", 1),
    Row("e_ratio", "(e) ratio large/small (medians)", "×", 2, at_most(1.3, "≤ 1.3")),
    Row("f", "(f) peak server RSS, one `_bulk_docs` of {rss_docs} × {rss_mb} MB inline", "MB", 0,
        at_most(2000, "< 2 GB (2,000 MB)", strict=True)),
)  # fmt: skip


def _cell(figure: Figure | None, decimals: int) -> str:
    if figure is None:
        return "–"
    if figure.value is None:
        return "error"
    return f"{figure.value:,.{decimals}f}"


def render_table(results: Results, columns: Mapping[str, str], labels: Mapping[str, object]) -> str:
    """A markdown table: one row per figure, a column per server (``columns``: key -> heading),
    the target and fieldhall's verdict. ``labels`` fills the sizes into the row labels."""
    shown = [key for key in COLUMNS if key in columns]
    header = ["measure", "unit", *(columns[key] for key in shown), "target", "verdict"]
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "--:|" * len(shown) + "---|---|"]
    for row in ROWS:
        figures = results.get(row.key, {})
        if row.needs is not None and row.needs not in columns:
            continue
        target, verdict = "–", "–"
        if row.target is not None:
            target = row.target.text(figures)
            outcome = row.target.check(figures)
            if outcome is None:
                verdict = "n/a"
            else:
                passed, how = outcome
                verdict = ("PASS" if passed else "**FAIL**") + (f" ({how})" if how else "")
        cells = [_cell(figures.get(key), row.decimals) for key in shown]
        label = row.label.format(**labels)
        lines.append("| " + " | ".join([label, row.unit, *cells, target, verdict]) + " |")
    return "\n".join(lines)


def machine() -> dict[str, str]:
    """nproc, memory, CPU model and kernel, from /proc."""
    model = "unknown CPU"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
                break
    with open("/proc/loadavg") as loadavg:
        load = " ".join(loadavg.read().split()[:3])
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "cpu": model,
        "kernel": f"{platform.system()} {platform.release()}",
        "load": load,
    }


def work_dir(prefix: str) -> Path:
    """A fresh directory for a benchmark's data directories: under ``FIELDHALL_BENCH_DIR``, or
    ``bench/.work`` — on the project's disk, as a hall keeps its data, not in the system's
    temporary directory (often tmpfs, where fsync costs nothing; on some machines a part of the
    disk where creating a file costs many times what it costs elsewhere)."""
    base = Path(os.environ.get("FIELDHALL_BENCH_DIR") or Path(__file__).parent / ".work")
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def file_creation_us(directory: Path, files: int = 200) -> float:
    """Microseconds to create an empty file in a new directory under ``directory`` (the
    median of ``files``), reported with the figures: the blob store and the photo worker
    create a file per attachment. The files stay, for the benchmark's cleanup (on ext4 a
    deleted inode slows the allocation of new ones nearby for half a minute)."""
    probe = Path(tempfile.mkdtemp(prefix="probe-", dir=directory))
    times = []
    for n in range(files):
        started = time.perf_counter()
        os.close(os.open(probe / f"f{n}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        times.append(time.perf_counter() - started)
    return 1e6 * statistics.median(times)


def filesystem_of(path: Path) -> str:
    """The filesystem type of the mount holding ``path`` (fsync cost depends on it)."""
    best, kind = "", "?"
    with open("/proc/mounts") as mounts:
        for line in mounts:
            parts = line.split()
            if len(parts) >= 3 and str(path).startswith(parts[1]) and len(parts[1]) > len(best):
                best, kind = parts[1], parts[2]
    return kind


def heading(info: Mapping[str, str], quick: bool) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    size = " (quick)" if quick else ""
    return (
        f"## {now}{size} — {info['nproc']} CPUs ({info['cpu']}), {info['memory']}, {info['kernel']}"
    )


def record(path: Path, section: str) -> None:
    """Puts ``section`` (starting with a ``## `` heading) above the older runs in ``path``."""
    old = path.read_text() if path.exists() else ""
    if old.startswith("## "):
        intro, older = "", old
    else:
        intro, found, rest = old.partition("\n## ")
        older = "## " + rest if found else ""
    text = (intro if intro.strip() else RESULTS_INTRO).rstrip() + "\n\n" + section.strip() + "\n"
    if older:
        text += "\n" + older.rstrip() + "\n"
    path.write_text(text)
