"""Resumable uploads benchmark (issue 7, Performance): a tus upload of a 20 MB file against a
plain ``PUT`` of the same bytes, same server, same device, same run.

    .venv/bin/python bench/uploads_bench.py [--size-mb 20] [--rounds 10] [--quick]

The run is added to bench/RESULTS.md, except with ``--quick`` (3 rounds, a smoke run).

One ``fieldhall serve`` (fresh data directory on SQLite, WAL, synchronous=FULL; the projector
and photo worker running, as in production) and one enrolled device. Each round makes fresh
random bytes (so no upload finds its blob already stored) and sends them, in an order that
rotates, as:

* ``PUT`` — the sync surface's standalone attachment ``PUT /sync/field/{doc}/{name}`` with the
  device's bearer token: the body is streamed into the blob store (sha256 + md5, fsynced),
  then the write goes to the policy, which refuses an unsigned document (403) — its bytes were
  received and stored all the same, which is what is timed. The baseline.
* ``tus`` — the tus core flow as tus-js-client and tuspy do it by default: ``POST
  /api/v1/uploads`` (``Upload-Length``), then one ``PATCH`` with the whole body and its
  ``Upload-Checksum: sha256``, until the 204 says the upload is complete (its bytes in the blob
  store under their sha256, ready for an attachment stub). The issue's figure.
* ``tus, creation-with-upload`` — the same in one ``POST`` carrying the body.
* ``tus, 5 MB chunks`` — a client on a bad network that PATCHes 5 MB at a time (reference).

Throughput is the size over the wall time of the whole exchange as the client sees it (the
tus client's hashing of its ``Upload-Checksum`` included; the benchmark's own check of the
answer — re-hashing 20 MB to compare with ``Upload-Digest``, ~12 ms — after the clock stops,
as nothing checks the PUT's answer that way). Shown:
the best of the rounds per kind, and the median over rounds of each round's own ratio (the same
bytes sent both ways moments apart: steadier when other processes share the cores), with the
server's CPU seconds per upload (from /proc). Target: tus ≥ 80 % of the PUT's throughput.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's fieldhall

from field_bench import add_staff, enroll, start_hall
from replicate_bench import code_revision, cpu_seconds
from sync_report import filesystem_of, machine, record, work_dir
from sync_servers import BENCH_DIR, Server
from ulid import ULID

from fieldhall.field_app_api.client import DeviceClient

RESULTS_PATH = BENCH_DIR / "RESULTS.md"
TUS = {"Tus-Resumable": "1.0.0"}
TARGET_RATIO = 0.80
CHUNK = 5 * 1024 * 1024


@dataclass
class Timing:
    seconds: float
    server_cpu: float
    status: str


# Sends the bytes; returns what to check once the clock has stopped (the checking is the
# benchmark's, not part of the upload).
Sender = Callable[[httpx.Client, DeviceClient, bytes], Callable[[], str]]


def put_attachment(client: httpx.Client, device: DeviceClient, data: bytes) -> Callable[[], str]:
    url = f"{device.state.sync_url}/case:{ULID()}/photo.bin"
    response = client.put(url, content=data, headers={"Content-Type": "application/octet-stream"})

    def check() -> str:
        # Refused by the policy (an unsigned document) after its bytes were stored: see above.
        if response.status_code not in (201, 403):
            raise RuntimeError(f"PUT: {response.status_code} {response.text[:300]}")
        return f"HTTP {response.status_code}"

    return check


def _checksum(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


def _expect_digest(response: httpx.Response, data: bytes) -> Callable[[], str]:
    def check() -> str:
        digest = "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()
        if response.headers.get("upload-digest") != digest:
            raise RuntimeError(f"tus: not complete: {response.status_code} {response.headers}")
        return f"HTTP {response.status_code}, Upload-Digest matches"

    return check


def _create(client: httpx.Client, base: str, length: int) -> str:
    response = client.post(base, headers={**TUS, "Upload-Length": str(length)})
    if response.status_code != 201:
        raise RuntimeError(f"tus POST: {response.status_code} {response.text[:300]}")
    return response.headers["location"]


def tus_patch(client: httpx.Client, device: DeviceClient, data: bytes) -> Callable[[], str]:
    location = _create(client, uploads_url(device), len(data))
    response = client.patch(
        location,
        content=data,
        headers={
            **TUS,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
            "Upload-Checksum": _checksum(data),
        },
    )
    return _expect_digest(response, data)


def tus_creation_with_upload(
    client: httpx.Client, device: DeviceClient, data: bytes
) -> Callable[[], str]:
    response = client.post(
        uploads_url(device),
        content=data,
        headers={
            **TUS,
            "Upload-Length": str(len(data)),
            "Content-Type": "application/offset+octet-stream",
            "Upload-Checksum": _checksum(data),
        },
    )
    return _expect_digest(response, data)


def tus_chunked(client: httpx.Client, device: DeviceClient, data: bytes) -> Callable[[], str]:
    location = _create(client, uploads_url(device), len(data))
    response = None
    for offset in range(0, len(data), CHUNK):
        part = data[offset : offset + CHUNK]
        response = client.patch(
            location,
            content=part,
            headers={
                **TUS,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Upload-Checksum": _checksum(part),
            },
        )
        if response.status_code != 204:
            raise RuntimeError(f"tus PATCH: {response.status_code} {response.text[:300]}")
    assert response is not None
    return _expect_digest(response, data)


def uploads_url(device: DeviceClient) -> str:
    return device.state.sync_url.rsplit("/sync/", 1)[0] + "/api/v1/uploads"


KINDS: dict[str, Sender] = {
    "PUT": put_attachment,
    "tus": tus_patch,
    "tus, creation-with-upload": tus_creation_with_upload,
    "tus, 5 MB chunks": tus_chunked,
}


def measure(
    hall: Server, device: DeviceClient, size: int, rounds: int, blob_dir: Path
) -> dict[str, list[Timing]]:
    timings: dict[str, list[Timing]] = {kind: [] for kind in KINDS}
    names = list(KINDS)
    headers = {"Authorization": f"Bearer {device.state.token}"}
    with httpx.Client(headers=headers, timeout=600.0) as client:
        # A warm-up of each, untimed: connections, imports, the first blob directories.
        for kind in names:
            KINDS[kind](client, device, os.urandom(1024 * 1024))()
        for r in range(rounds):
            data = os.urandom(size)
            digest = hashlib.sha256(data).hexdigest()
            order = names[r % len(names) :] + names[: r % len(names)]
            blob = blob_dir / "sha256" / digest[:2] / digest[2:4] / digest
            for kind in order:
                # Each kind stores the bytes afresh: had an earlier kind of the round left
                # them in the content-addressed store, this one would skip writing them.
                blob.unlink(missing_ok=True)
                assert hall.pid is not None
                cpu = cpu_seconds(hall.pid)
                started = time.perf_counter()
                check = KINDS[kind](client, device, data)
                elapsed = time.perf_counter() - started
                server_cpu = cpu_seconds(hall.pid) - cpu
                timings[kind].append(Timing(elapsed, server_cpu, check()))
                if not blob.exists():
                    raise RuntimeError(f"{kind}: the bytes are not in the blob store at {blob}")
    return timings


def mb_per_s(size: int, seconds: float) -> float:
    return size / seconds / 1e6


def report(timings: dict[str, list[Timing]], size: int, notes: list[str]) -> str:
    """Best of the rounds per kind (as the other benchmarks), and, steadier on a shared
    machine, the median of the rounds' own ratios (each round sends the same bytes both ways,
    moments apart) and the median server CPU."""
    put = timings["PUT"]
    best_put = mb_per_s(size, min(t.seconds for t in put))
    lines = [
        "| upload of the same bytes | MB/s (best) | vs PUT (best) | vs PUT (median of rounds) "
        "| server CPU s (median) | target |",
        "|---|--:|--:|--:|--:|---|",
    ]
    for kind, each in timings.items():
        rate = mb_per_s(size, min(t.seconds for t in each))
        paired = statistics.median(p.seconds / t.seconds for p, t in zip(put, each, strict=True))
        cpu = statistics.median(t.server_cpu for t in each)
        if kind == "tus":
            passed = rate / best_put >= TARGET_RATIO and paired >= TARGET_RATIO
            verdict = f"≥ {TARGET_RATIO:.2f} both: " + ("PASS" if passed else "**FAIL**")
        else:
            verdict = "baseline" if kind == "PUT" else "–"
        lines.append(
            f"| {kind} | {rate:,.1f} | {rate / best_put:.2f} | {paired:.2f} | {cpu:.3f} "
            f"| {verdict} |"
        )
    lines += ["", "Details:", ""]
    for kind, each in timings.items():
        rates = ", ".join(f"{mb_per_s(size, t.seconds):,.1f}" for t in each)
        lines.append(f"* {kind}: MB/s per round ({rates}); {each[0].status}")
    lines.extend(f"* {note}" for note in notes)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="3 rounds, not recorded")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds = 3
    size = int(args.size_mb * 1024 * 1024)
    info = machine()
    workdir = work_dir("fieldhall-uploads-bench-")
    data_dir = workdir / "hall"
    hall: Server | None = None
    try:
        data_dir.mkdir()
        add_staff(data_dir)
        hall = start_hall(data_dir, "hall")
        device = enroll(hall, "上传测试", "grid-bench")
        timings = measure(hall, device, size, args.rounds, data_dir / "blobs")
    finally:
        if hall is not None:
            hall.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    with open("/proc/loadavg") as loadavg:
        load_after = " ".join(loadavg.read().split()[:3])
    notes = [
        f"{size / 1024 / 1024:.0f} MiB of random bytes per round, fresh each round; "
        f"{args.rounds} rounds, the order rotating, the blob removed before each kind (so none "
        "finds the bytes already stored); one warm-up of each (1 MiB) untimed",
        f"fieldhall {code_revision()}; `fieldhall serve` on SQLite (WAL, synchronous=FULL), "
        f"data on {filesystem_of(workdir)} ({workdir.parent}); client httpx "
        f"{httpx.__version__}, one keep-alive connection, 127.0.0.1",
        f"load average at the start: {info['load']}, at the end: {load_after}",
    ]
    table = report(timings, size, notes)
    heading = (
        f"## {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} — uploads (issue 7) — "
        f"{info['nproc']} CPUs ({info['cpu']}), {info['memory']}, {info['kernel']}"
    )
    section = (
        f"{heading}\n\n`python bench/uploads_bench.py` (`make bench`): a tus "
        f"upload of {args.size_mb:g} MB against the sync attachment `PUT` of the same bytes, "
        "same server and device, same run.\n\n" + table
    )
    print(section)
    if not args.quick:
        record(RESULTS_PATH, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
