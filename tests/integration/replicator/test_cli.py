"""``fieldhall replicate``: final statistics as one JSON object; one-line errors and a non-zero
exit for an unreachable peer, wrong credentials and a missing database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner, Result

from fieldhall.server.replicate_cmd import render_progress, replicate
from fieldhall.sync.replicator import Progress, State, Stats
from tests.servers import ADMIN, REPO, CouchServer, free_port


def _run(*args: str) -> Result:
    return CliRunner().invoke(replicate, list(args))


def _one_line_error(result: Result) -> str:
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fieldhall replicate: error: ")
    assert ADMIN[1] not in result.stderr + result.stdout  # no password in messages
    return lines[0]


@pytest.fixture
def seeded(couch: CouchServer) -> CouchServer:
    with couch.client() as client:
        client.put("/src")
        client.post("/src/_bulk_docs", json={"docs": [{"_id": f"d{i}", "i": i} for i in range(25)]})
    return couch


def test_json_prints_exactly_one_object_of_final_stats(seeded: CouchServer) -> None:
    result = _run(f"{seeded.auth_url}/src", f"{seeded.auth_url}/dst", "--create-target", "--json")
    assert result.exit_code == 0, result.stderr
    stats = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert stats["ok"] is True and stats["state"] == "completed"
    assert stats["docs_read"] == stats["docs_written"] == 25
    assert stats["missing_checked"] == stats["missing_found"] == 25
    assert stats["doc_write_failures"] == 0
    assert stats["start_last_seq"] == 0 and stats["end_last_seq"] == "25"
    again = json.loads(_run(f"{seeded.auth_url}/src", f"{seeded.auth_url}/dst", "--json").stdout)
    assert again["docs_read"] == 0 and again["start_last_seq"] == "25"


def test_credentials_as_options_and_filters(seeded: CouchServer) -> None:
    auth = ":".join(ADMIN)
    result = _run(
        f"{seeded.url}/src", f"{seeded.url}/some", "--source-auth", auth, "--target-auth", auth,
        "--create-target", "--doc-ids", "d1,d2,d3", "--batch-size", "2", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["docs_written"] == 3
    selected = _run(
        f"{seeded.auth_url}/src", f"{seeded.auth_url}/sel", "--create-target",
        "--selector", '{"i": {"$gte": 20}}', "--json",
    )  # fmt: skip
    assert json.loads(selected.stdout)["docs_written"] == 5
    assert "written" not in selected.stderr  # --json: the summary is the JSON


def test_without_json_a_summary_on_stderr(seeded: CouchServer) -> None:
    result = _run(f"{seeded.auth_url}/src", f"{seeded.auth_url}/plain", "--create-target")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "completed: 25 written" in result.stderr


def test_unreachable_peer(seeded: CouchServer) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/db"
    line = _one_line_error(_run(nowhere, f"{seeded.auth_url}/dst", "--create-target"))
    assert "cannot connect" in line and "connection refused" in line and nowhere in line
    as_json = _run(nowhere, f"{seeded.auth_url}/dst", "--json")
    assert json.loads(as_json.stdout)["error"] == "unreachable"


def test_wrong_password(seeded: CouchServer) -> None:
    wrong = seeded.url.replace("http://", "http://admin:not-the-password@")
    line = _one_line_error(_run(f"{seeded.auth_url}/src", f"{wrong}/dst", "--create-target"))
    assert "refused the credentials" in line and "not-the-password" not in line
    as_json = json.loads(_run(f"{wrong}/src", f"{seeded.auth_url}/dst", "--json").stdout)
    assert as_json["ok"] is False and as_json["error"] == "unauthorized"


def test_missing_target_without_create_target(seeded: CouchServer) -> None:
    line = _one_line_error(_run(f"{seeded.auth_url}/src", f"{seeded.auth_url}/absent"))
    assert "target database" in line and "does not exist" in line and "--create-target" in line
    with seeded.client() as client:
        assert client.get("/absent").status_code == 404  # nothing was created


def test_missing_source(seeded: CouchServer) -> None:
    line = _one_line_error(_run(f"{seeded.auth_url}/nope", f"{seeded.auth_url}/dst"))
    assert "source database" in line and "does not exist" in line


@pytest.mark.parametrize(
    "args",
    [
        ["http://h/a", "http://h/b", "--doc-ids", "x", "--selector", "{}"],
        ["http://h/a", "http://h/b", "--selector", "not json"],
        ["http://h/a", "http://h/b", "--selector", "[1]"],
        ["ftp://h/a", "http://h/b"],
        ["http://h/", "http://h/b"],
        ["http://h/a", "http://h/b", "--source-auth", "nocolon"],
        ["http://h/a", "http://h/b", "--batch-size", "0"],
    ],
)
def test_usage_errors(args: list[str]) -> None:
    assert _run(*args).exit_code == 2


def test_progress_bar_only_on_a_terminal(seeded: CouchServer) -> None:
    result = _run(f"{seeded.auth_url}/src", f"{seeded.auth_url}/quiet", "--create-target")
    assert "\r" not in result.stderr and "[#" not in result.stderr  # CliRunner is no terminal
    running = Progress(
        state=State.RUNNING,
        stats=Stats(docs_read=5, docs_written=4, doc_write_failures=1),
        start_last_seq=0,
        end_last_seq="50-g1AAA",
        source_seq="100-g1AAA",
    )
    assert render_progress(running, width=10) == "[#####.....]  50%  5 read, 4 written, 1 failed"
    assert render_progress(running.evolve(state=State.IDLE)).startswith("up to date")
    done = render_progress(running.evolve(state=State.COMPLETED, end_last_seq="100"), width=4)
    assert done.startswith("[####] 100%") and done.endswith("(completed)")


def test_continuous_command_stops_on_sigint_with_final_stats(seeded: CouchServer) -> None:
    child = subprocess.Popen(
        [
            sys.executable, "-m", "fieldhall.server.replicate_cmd",
            f"{seeded.auth_url}/src", f"{seeded.auth_url}/live", "--create-target",
            "--continuous", "--json",
        ],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        with seeded.client() as client:
            deadline = time.monotonic() + 30
            while client.get("/live").json().get("doc_count") != 25:
                assert time.monotonic() < deadline and child.poll() is None
                time.sleep(0.05)
            client.put("/src/later", json={"v": 1})
            while client.get("/live/later").status_code != 200:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    stats = json.loads(out)
    assert stats["state"] == "cancelled" and stats["docs_written"] == 26
