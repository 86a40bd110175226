"""The door's worker processes (field_app_api.door_workers): a speed-up, never a dependency.
Shares come back in the batch's order; while the workers start, after one fails, and once
closed, the caller is told to check the batch itself; a worker outlives no server."""

from __future__ import annotations

import functools
import gc
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, replace
from typing import Any

from fieldhall.field_app_api.devices import DeviceIdentity
from fieldhall.field_app_api.door_workers import MIN_BATCH, DoorWorkers, refusal_of
from fieldhall.field_app_api.policy import FieldPolicy
from fieldhall.sync.errors import Forbidden
from fieldhall.sync.policy import Principal

DEVICE = Principal("device-1", frozenset({"agent:a"}))


@dataclass(frozen=True)
class Outcome:
    """What a policy's prepare_write returns, as far as the workers are concerned."""

    refusal: Forbidden | None
    signed_hash: str
    files: dict[str, tuple[Any, Any, Any]]
    attachment_refusal: Forbidden | None


class Numbers:
    """A picklable toy policy: odd numbers are refused; ``die`` ends the worker process."""

    def __init__(self, die_on: int | None = None, fail_on: int | None = None) -> None:
        self.die_on = die_on
        self.fail_on = fail_on

    def prepare_write(self, principal: Principal, database: str, view: Any) -> Outcome:
        n = view["n"]
        if n == self.die_on and os.getpid() != view["parent"]:
            os._exit(3)
        if n == self.fail_on:
            raise ValueError(f"cannot check {n}")
        refusal = Forbidden(f"odd: {n} in {database}") if n % 2 else None
        return Outcome(refusal, f"{principal.name}:{n}", {"f": (n, n, "x")}, None)


class FreezeCount(Numbers):
    """Tells, as each outcome's hash, how many objects its process keeps out of the cyclic
    garbage collector's sight (``gc.freeze``)."""

    def prepare_write(self, principal: Principal, database: str, view: Any) -> Outcome:
        outcome = super().prepare_write(principal, database, view)
        return replace(outcome, signed_hash=str(gc.get_freeze_count()))


def rebuild(wire: Any) -> Outcome:
    refusal, signed_hash, files, attachment_refusal = wire
    return Outcome(refusal_of(refusal), signed_hash, files, refusal_of(attachment_refusal))


def broken_factory() -> Numbers:
    raise RuntimeError("this policy cannot be built")


def views(count: int) -> list[dict[str, int]]:
    return [{"n": n, "parent": os.getpid()} for n in range(count)]


def test_shares_come_back_in_order_with_the_verdicts_of_one_thread() -> None:
    local = Numbers()
    workers = DoorWorkers(Numbers, processes=1)
    try:
        batch = views(41)
        assert workers.prepare(DEVICE, "field", batch, local.prepare_write, rebuild) is None
        assert workers.wait_ready(60.0)  # the first call started them
        checked = workers.prepare(DEVICE, "field", batch, local.prepare_write, rebuild)
        alone = [local.prepare_write(DEVICE, "field", view) for view in batch]
        assert checked is not None
        shared, signed = checked
        assert signed == {}  # nothing to sign with
        assert [(o.signed_hash, o.files) for o in shared] == [
            (o.signed_hash, o.files) for o in alone
        ]
        assert [o.refusal and (o.refusal.error_name, o.refusal.reason) for o in shared] == [
            o.refusal and ("forbidden", o.refusal.reason) for o in alone
        ]
        assert shared[1].refusal is not None and shared[1].refusal.reason == "odd: 1 in field"
        assert workers.batches_shared == 1
    finally:
        workers.close()
    assert workers.prepare(DEVICE, "field", views(41), Numbers().prepare_write, rebuild) is None


def test_a_worker_that_dies_leaves_the_batch_to_the_caller_and_is_replaced() -> None:
    local = Numbers()
    workers = DoorWorkers(functools.partial(Numbers, die_on=40), processes=1)
    try:
        assert workers.wait_ready(60.0)
        batch = views(41)  # 40 is in the workers' share
        assert workers.prepare(DEVICE, "field", batch, local.prepare_write, rebuild) is None
        assert not workers.ready
        assert workers.wait_ready(60.0)  # a fresh pool
        fine = views(39)
        checked = workers.prepare(DEVICE, "field", fine, local.prepare_write, rebuild)
        assert checked is not None and [o.signed_hash for o in checked[0]] == [
            f"device-1:{n}" for n in range(39)
        ]
    finally:
        workers.close()


def test_an_error_in_a_share_leaves_the_batch_to_the_caller_and_keeps_the_workers() -> None:
    """What a worker raised, the caller meets again when it checks the batch itself (a 5xx,
    as without workers); the workers are not to blame and stay."""
    workers = DoorWorkers(functools.partial(Numbers, fail_on=40), processes=1)
    try:
        assert workers.wait_ready(60.0)
        pool = workers._pool
        assert workers.prepare(DEVICE, "field", views(41), Numbers().prepare_write, rebuild) is None
        assert workers.ready and workers._pool is pool
        assert workers.batches_shared == 0
        shared = workers.prepare(DEVICE, "field", views(39), Numbers().prepare_write, rebuild)
        assert shared is not None and workers.batches_shared == 1
    finally:
        workers.close()


def test_workers_that_cannot_start_are_never_ready() -> None:
    workers = DoorWorkers(broken_factory, processes=1)
    try:
        assert not workers.wait_ready(30.0)
        assert workers.prepare(DEVICE, "field", views(40), Numbers().prepare_write, rebuild) is None
    finally:
        workers.close()


def test_no_processes_means_the_caller_checks_every_batch() -> None:
    workers = DoorWorkers(Numbers, processes=0)
    assert not workers.wait_ready(0.5)
    assert workers.prepare(DEVICE, "field", views(40), Numbers().prepare_write, rebuild) is None


def test_the_workers_end_when_their_server_is_killed(tmp_path: Any) -> None:
    """A server killed (no shutdown, as by kill -9) leaves no worker behind."""
    script = tmp_path / "server.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys
            sys.path[:0] = {path!r}
            from fieldhall.field_app_api.door_workers import DoorWorkers
            from tests.unit.field_app_api.test_door_workers import Numbers
            if __name__ == "__main__":  # spawned workers import this module again
                workers = DoorWorkers(Numbers, processes=1)
                assert workers.wait_ready(60.0)
                print(" ".join(str(p) for p in workers._pool._processes), flush=True)
                os._exit(9)
            """
        ).format(path=sys.path)
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 9, done.stderr
    pids = [int(p) for p in done.stdout.split()]
    assert pids
    deadline = time.monotonic() + 15.0
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_shares_follow_what_a_workers_document_costs() -> None:
    """A worker's document costing three of this thread's, a worker gets a quarter of the
    batch and this thread the rest: both finish together. The cost is learned gradually and
    bounded, so one odd batch does not swing the split."""
    workers = DoorWorkers(Numbers, processes=1)
    assert workers._split(100) == (50, [50])  # equal until something is learned
    for _ in range(40):
        workers._learn(local_per_doc=0.001, worker_per_doc=0.003)
    assert workers._split(100) == (75, [25])
    workers._learn(local_per_doc=0.001, worker_per_doc=1.0)  # bounded at 4x, then smoothed
    mine, [theirs] = workers._split(100)
    assert mine + theirs == 100 and 19 <= theirs <= 25
    three = DoorWorkers(Numbers, processes=3)
    mine, shares = three._split(40)
    assert shares == [10, 10, 10] and mine == 10


@dataclass(frozen=True)
class PidSigner:
    """A picklable toy signer: each document that passed, signed by the process it was in."""

    def __call__(self, prepared: list[tuple[Any, str]]) -> dict[int, tuple[str, int]]:
        return {view["n"]: (signed_hash, os.getpid()) for view, signed_hash in prepared}


def not_here(principal: Principal, database: str, view: Any) -> Outcome:
    raise AssertionError("a document was checked in the writer's thread")


def test_while_files_are_written_the_workers_check_and_sign_the_whole_batch() -> None:
    """``here=False`` (the blob store is writing the batch's files): this thread checks no
    share; the workers sign the receipts of what passed, and only of that."""
    workers = DoorWorkers(Numbers, processes=1)
    try:
        assert workers.wait_ready(60.0)
        [worker] = list(workers._pool._processes)  # type: ignore[union-attr]
        checked = workers.prepare(
            DEVICE, "field", views(40), not_here, rebuild, sign=PidSigner(), here=False
        )
        assert checked is not None
        outcomes, signed = checked
        assert [o.signed_hash for o in outcomes] == [f"device-1:{n}" for n in range(40)]
        assert sorted(signed) == list(range(0, 40, 2))  # the odd ones were refused
        assert {pid for _, pid in signed.values()} == {worker}
        assert signed[4] == ("device-1:4", worker)
    finally:
        workers.close()


def test_the_writers_own_share_is_signed_in_its_thread() -> None:
    local = Numbers()
    workers = DoorWorkers(Numbers, processes=1)
    try:
        assert workers.wait_ready(60.0)
        mine, [theirs] = workers._split(40)
        checked = workers.prepare(
            DEVICE, "field", views(40), local.prepare_write, rebuild, sign=PidSigner()
        )
        assert checked is not None
        _, signed = checked
        assert sorted(signed) == list(range(0, 40, 2))
        here = {n for n, (_, pid) in signed.items() if pid == os.getpid()}
        assert here == {n for n in range(0, mine, 2)} and mine > 0 and theirs > 0
    finally:
        workers.close()


def test_the_whole_batch_is_shared_evenly_between_the_workers() -> None:
    assert DoorWorkers(Numbers, processes=3)._even(40) == (0, [14, 13, 13])
    assert DoorWorkers(Numbers, processes=3)._even(2) == (0, [1, 1])
    assert DoorWorkers(Numbers, processes=1)._even(33) == (0, [33])


class Recording:
    """Stands in for the door's workers: records whether the writer's thread may take a
    share, and leaves the batch to it."""

    def __init__(self) -> None:
        self.here: list[bool] = []

    def prepare(self, *args: Any, sign: Any = None, here: bool = True) -> None:
        self.here.append(here)


def test_the_policy_keeps_the_writers_thread_out_while_a_batchs_files_are_written() -> None:
    identity = DeviceIdentity("device-1", "agent-1", "grid-1", None, "key")
    device = Principal("device-1", identity.channels, context={"device": identity})
    recording = Recording()
    policy = FieldPolicy(lambda view: None, workers=recording)  # type: ignore[arg-type]
    plain = [{"_id": f"case:{n}", "type": "case"} for n in range(MIN_BATCH)]
    with_files = [
        {**view, "_attachments": {"a.jpg": {"sha256": "00", "data": b"bytes"}}} for view in plain
    ]
    with_stubs = [{**view, "_attachments": {"a.jpg": {"sha256": "00"}}} for view in plain]
    for batch in (plain, with_files, with_stubs):
        outcomes = policy.prepare_writes(device, "field", batch)
        assert len(outcomes) == MIN_BATCH  # checked here after all (no signature: refused)
    assert recording.here == [True, False, True]


def test_a_worker_keeps_what_it_built_to_start_out_of_the_collectors_sight() -> None:
    """Once warmed up, a worker's start-up heap (modules, its policy) is frozen: a full
    collection during a batch does not walk it again."""
    local = FreezeCount()
    workers = DoorWorkers(FreezeCount, processes=1)
    try:
        assert workers.wait_ready(60.0)
        checked = workers.prepare(
            DEVICE, "field", views(8), local.prepare_write, rebuild, here=False
        )
        assert checked is not None
        frozen = {int(outcome.signed_hash) for outcome in checked[0]}
        assert len(frozen) == 1 and frozen.pop() > 1_000
    finally:
        workers.close()
