"""The kill -9 checks have teeth: a lost write, a changed body, a lost ``_local`` update and a
lost blob are each reported (the server's files or the writers' records are tampered with)."""

from __future__ import annotations

import random
from pathlib import Path

import httpx

from tests.servers import ADMIN, CouchProcess, free_port

from .checks import check_after_restart
from .workload import DB, KINDS, Version, Writer


def test_the_checks_report_lost_changed_and_partial_writes(tmp_path: Path) -> None:
    rng = random.Random(7)
    writers = [Writer(i, rng.getrandbits(63)) for i in range(2)]
    server = CouchProcess(tmp_path / "data", port=free_port())
    try:
        server.start()
        with httpx.Client(base_url=server.url, auth=ADMIN, timeout=30.0) as client:
            assert client.put(f"/{DB}").status_code == 201
            for writer in writers:
                for kind in [*KINDS, *KINDS, *KINDS]:
                    assert writer.write(client, kind), writer.problems
        server.kill()

        first, second = writers
        with_att = next(d for d in first.docs.values() if d.acked and d.acked.atts)
        assert with_att.acked is not None
        att = next(iter(with_att.acked.atts.values()))
        blob = tmp_path / "data" / "blobs" / "sha256" / att.sha256[:2] / att.sha256[2:4]
        (blob / att.sha256).unlink()

        lost, changed = [d for d in second.docs.values() if d.acked][:2]
        assert lost.acked and lost.acked.rev and changed.acked
        generation = int(lost.acked.rev.split("-")[0])
        lost.acked = Version(lost.acked.body, lost.acked.atts, f"{generation + 1}-{'0' * 32}")
        changed.acked = Version(
            {**changed.acked.body, "n": -1}, changed.acked.atts, changed.acked.rev
        )
        local = next(iter(second.locals.values()))
        assert local.acked_n is not None
        local.acked_n += 1

        server.start()
        with httpx.Client(base_url=server.url, auth=ADMIN, timeout=30.0) as client:
            problems, _ = check_after_restart(client, writers, rng, full=True)
    finally:
        server.kill()

    def reported(*words: str) -> bool:
        return any(all(w in p for w in words) for p in problems)

    assert reported(with_att.doc_id, "GET"), problems
    assert reported(lost.doc_id, "acknowledged as"), problems
    assert reported(changed.doc_id, "body"), problems
    assert reported(local.doc_id, "acknowledged 0-"), problems
    assert len(problems) == 4, problems
