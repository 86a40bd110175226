"""Photo derivatives benchmark (issue 7, Performance): thumbnails per second per core from
12-megapixel JPEGs; and, with ``--hashes``, the experiment behind the near-copy thresholds.

    .venv/bin/python bench/photos_bench.py [--photos N] [--rounds R]
    .venv/bin/python bench/photos_bench.py --hashes [--people P]

The workload is N distinct 4000×3000 camera-like JPEGs (quality 92, 4:2:0, colour gradients,
mid-frequency texture, sensor noise and lines of text; 3.5–4.5 MB each, so not trivially
compressible), made before the clock starts. Rows:

* ``thumbnail`` — ``render`` with the thumbnail variant only: decode (JPEG draft mode, 1/8
  scale), shrink, orient, encode, hash. The issue's figure (target ≥ 20/s per core).
* ``thumbnail + preview`` — what a job derives: one decode at 1/2 scale for the 1280 px
  preview, the 256 px thumbnail from it, the hashes.
* ``worker`` — ``DerivativeWorker`` with one thread per core, jobs through the store
  (fsynced files) and the callback, as in the hall.

"per thread" divides the wall-clock rate by the threads used, which is the rate per core on an
otherwise idle machine; "per CPU-second" divides by the CPU time the process spent
(``thread_time``, or ``getrusage`` for the worker), which is what a core delivers whatever else
runs on a shared machine; "CPU used" is CPU time over wall time, so a figure well under the
thread count means other processes had the cores. The load average is printed too.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import itertools
import os
import platform
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageDraw, ImageFont, features

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fieldhall.server.photos import (  # noqa: E402
    DerivativeJob,
    DerivativeStore,
    DerivativeWorker,
    Derived,
    Outcome,
    probe,
    render,
)
from fieldhall.server.photos.hashes import SIMILAR_PHASH_DISTANCE, hamming  # noqa: E402
from fieldhall.server.photos.nearcopy import (  # noqa: E402
    NEAR_COPY_DETAIL_DISTANCE,
    Probe,
    detail_distance,
)
from fieldhall.server.photos.rendering import DEFAULT_VARIANTS, THUMBNAIL, Variant  # noqa: E402
from fieldhall.server.photos.worker import cores  # noqa: E402

TARGET_PER_CORE = 20.0


def camera_jpeg(seed: int, size: tuple[int, int] = (4000, 3000)) -> bytes:
    """A 12 MP photo-like JPEG: smooth colour fields, texture, noise, text."""
    rng = np.random.default_rng(seed)
    width, height = size
    coarse = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), "RGB")
    texture = Image.fromarray(rng.integers(0, 256, (90, 120, 3), dtype=np.uint8), "RGB")
    pixels = np.asarray(coarse.resize(size, Image.Resampling.BICUBIC), dtype=np.float32) * 0.7
    pixels += np.asarray(texture.resize(size, Image.Resampling.BICUBIC), dtype=np.float32) * 0.3
    pixels += rng.normal(0.0, 6.0, (height, width, 1)).astype(np.float32)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=110)
    for line in range(12):
        words = " ".join(str(rng.integers(10**5, 10**6)) for _ in range(4))
        draw.text(
            (180, 140 + line * 230), f"No. {seed}-{line} {words}", fill=(25, 25, 25), font=font
        )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


@dataclass(frozen=True)
class Row:
    name: str
    threads: int
    count: int
    wall: float
    cpu: float

    @property
    def per_core(self) -> float:
        return self.count / self.wall / self.threads

    @property
    def per_cpu_second(self) -> float:
        return self.count / self.cpu


def measure_render(
    name: str, originals: Sequence[bytes], rounds: int, variants: Sequence[Variant]
) -> Row:
    render(originals[0], "image/jpeg", variants)  # warm up: imports, codec tables
    wall, cpu = time.perf_counter(), time.thread_time()
    count = 0
    for _ in range(rounds):
        for data in originals:
            render(data, "image/jpeg", variants)
            count += 1
    return Row(name, 1, count, time.perf_counter() - wall, time.thread_time() - cpu)


def measure_worker(originals: Sequence[bytes], threads: int) -> Row:
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def record(outcome: Outcome) -> None:
        with lock:
            outcomes.append(outcome)

    jobs = [
        DerivativeJob(
            hashlib.sha256(data).hexdigest(), "image/jpeg", functools.partial(bytes, data)
        )
        for data in originals
    ]
    with tempfile.TemporaryDirectory(prefix="photos-bench-") as root:
        store = DerivativeStore(root)
        before = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.perf_counter()
        with DerivativeWorker(store, record, max_workers=threads) as worker:
            futures = [worker.submit(job) for job in jobs]
            for future in futures:
                future.result()
        elapsed = time.perf_counter() - wall
        after = resource.getrusage(resource.RUSAGE_SELF)
    assert all(isinstance(outcome, Derived) for outcome in outcomes), outcomes
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Row(
        f"worker, {threads} thread(s), thumbnail + preview + store",
        threads,
        len(jobs),
        elapsed,
        cpu,
    )


def throughput(photos: int, rounds: int) -> None:
    print(f"making {photos} distinct 4000×3000 JPEGs…", file=sys.stderr)
    originals = [camera_jpeg(seed) for seed in range(photos)]
    sizes = [len(data) / 1e6 for data in originals]  # MB
    load_before = os.getloadavg()
    rows = [
        measure_render("thumbnail (render, 1 thread)", originals, rounds, (THUMBNAIL,)),
        measure_render(
            "thumbnail + preview (render, 1 thread)", originals, rounds, DEFAULT_VARIANTS
        ),
        measure_worker(originals, 1),
    ]
    if cores() > 1:
        rows.append(measure_worker(originals, cores()))
    load_after = os.getloadavg()
    print(heading())
    print(
        f"Workload: {photos} JPEGs 4000×3000 of {min(sizes):.2f}–{max(sizes):.2f} MB, "
        f"{rounds} passes; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after.\n"
    )
    print(
        "| measure | threads | photos | per second | per second per thread "
        "| per CPU-second | CPU used (cores) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row.name} | {row.threads} | {row.count} | {row.count / row.wall:.1f} "
            f"| {row.per_core:.1f} | {row.per_cpu_second:.1f} | {row.cpu / row.wall:.2f} |"
        )
    best = rows[0].per_cpu_second
    verdict = "meets" if best >= TARGET_PER_CORE else "misses"
    print(
        f"\nThumbnails per CPU-second: {best:.1f} ({verdict} the target of {TARGET_PER_CORE:.0f})."
    )


def heading() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    turbo = features.version("libjpeg_turbo") or "?"
    return (
        f"### Photo derivatives — {time.strftime('%Y-%m-%d')}, {cpu}, {cores()} core(s), "
        f"Python {platform.python_version()}, Pillow {PIL.__version__}, libjpeg-turbo {turbo}\n"
    )


# --- the near-copy experiment -------------------------------------------------------------


@dataclass(frozen=True)
class Hashed:
    phash: str
    detail: str
    probe: Probe


def near_copy_experiment(people: int) -> None:
    from tests.unit.photos.scenes import COPIES, KINDS, photo, scene

    def derive(data: bytes, content_type: str = "image/jpeg") -> Hashed:
        rendering = render(data, content_type, (THUMBNAIL,))
        assert rendering is not None
        with Image.open(io.BytesIO(rendering.images[THUMBNAIL.name])) as thumb:
            return Hashed(rendering.hashes.phash, rendering.hashes.detail, probe(thumb))

    cases: dict[str, list[tuple[int, int]]] = {}

    def add(case: str, a: Hashed, b: Hashed) -> None:
        # Both directions: either photo may be the one that arrives second.
        for query, stored in ((a, b), (b, a)):
            cases.setdefault(case, []).append(
                (hamming(query.phash, stored.phash), detail_distance(query.probe, stored.detail))
            )

    print(f"deriving {len(KINDS) * people * 2} document photos and their copies…", file=sys.stderr)
    originals = {
        (kind, person, shot): photo(kind, person, shot).jpeg
        for kind in KINDS
        for person in range(people)
        for shot in (0, 1)
    }
    derived = {key: derive(data) for key, data in originals.items()}
    for name, (copy, content_type) in COPIES.items():
        for kind, person in itertools.product(KINDS, range(people)):
            original = originals[(kind, person, 0)]
            add(f"copy: {name}", derived[(kind, person, 0)], derive(copy(original), content_type))
    for kind in KINDS:
        for first, second in itertools.combinations(range(people), 2):
            for shots in ((0, 0), (0, 1)):
                a, b = derived[(kind, first, shots[0])], derived[(kind, second, shots[1])]
                add(f"other person's {kind}", a, b)
        for person in range(people):
            add(f"same {kind}, second shot", derived[(kind, person, 0)], derived[(kind, person, 1)])
    for one, other in itertools.combinations(KINDS, 2):
        for person in range(people):
            add(
                "different kinds of document",
                derived[(one, person, 0)],
                derived[(other, person, 0)],
            )
    scenes = [derive(scene(seed)) for seed in range(8)]
    for a, b in itertools.combinations(scenes, 2):
        add("unrelated scenes", a, b)

    def spread(values: list[int]) -> str:
        return f"{min(values)} / {statistics.median(values):.0f} / {max(values)}"

    def verdict(case: str, pairs: list[tuple[int, int]]) -> str:
        matched = sum(
            p <= SIMILAR_PHASH_DISTANCE and d <= NEAR_COPY_DETAIL_DISTANCE for p, d in pairs
        )
        return f"{matched}/{len(pairs)}"

    print(heading())
    print(
        f"{people} people × {len(KINDS)} kinds × 2 shots; distances in bits (min / median / max), "
        f"both directions; match = pHash ≤ {SIMILAR_PHASH_DISTANCE} and detail ≤ "
        f"{NEAR_COPY_DETAIL_DISTANCE}.\n"
    )
    print("| case | pairs | pHash (64 bits) | detail (1024 bits) | matched |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for case, pairs in cases.items():
        phashes = [p for p, _ in pairs]
        details = [d for _, d in pairs]
        matched = verdict(case, pairs)
        print(f"| {case} | {len(pairs)} | {spread(phashes)} | {spread(details)} | {matched} |")
    copies = [d for case, pairs in cases.items() if case.startswith("copy") for _, d in pairs]
    others = [
        d
        for case, pairs in cases.items()
        if case.startswith("other") or case.startswith("different") or case.startswith("unrelated")
        for _, d in pairs
    ]
    copy_phash = [p for case, pairs in cases.items() if case.startswith("copy") for p, _ in pairs]
    print(
        f"\nCopies: pHash ≤ {max(copy_phash)}, detail ≤ {max(copies)}. "
        f"Other documents and photos: detail ≥ {min(others)}."
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=8, help="distinct 12 MP JPEGs (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="passes of render over them")
    parser.add_argument("--hashes", action="store_true", help="run the near-copy experiment")
    parser.add_argument("--people", type=int, default=8, help="people in the experiment")
    args = parser.parse_args(argv)
    run: Callable[[], None] = (
        (lambda: near_copy_experiment(args.people))
        if args.hashes
        else (lambda: throughput(args.photos, args.rounds))
    )
    run()


if __name__ == "__main__":
    main()
