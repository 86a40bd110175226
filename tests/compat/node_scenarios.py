"""Running the Node scenarios in ``tests/compat/pouchdb/`` against a server.

A scenario is ``node <script> <server url with credentials>`` run from the repository root
(so ``require('pouchdb')`` resolves to ``node_modules`` from ``package-lock.json``). It prints
one JSON summary line and exits 0, or exits non-zero with ``FAIL: ...`` on stderr. An
interactive scenario may also print ``{"request": ...}`` lines, which the driver answers on
stdin (used to restart the server in the middle of a scenario).
"""

from __future__ import annotations

import functools
import json
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.servers import REPO

SCRIPTS = Path(__file__).resolve().parent / "pouchdb"
NODE_PACKAGES = ("pouchdb", "pouchdb-adapter-memory", "pouchdb-selector-core")
MIN_NODE_MAJOR = 18  # global fetch, used by the scenarios for raw HTTP checks
SCENARIO_TIMEOUT = 90.0  # seconds; each script also has its own, shorter watchdog

Summary = dict[str, Any]


@functools.cache
def _node_or_problem() -> tuple[str | None, str]:
    """``(node executable, "")`` or ``(None, what is missing and how to fix it)``."""
    node = shutil.which("node")
    if node is None:
        return None, (
            "`node` is not on PATH: the PouchDB compatibility suite needs Node.js >= "
            f"{MIN_NODE_MAJOR} (then run `npm ci` in {REPO})"
        )
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=10, check=False
    ).stdout.strip()
    major = int(version.lstrip("v").split(".")[0]) if version.startswith("v") else 0
    if major < MIN_NODE_MAJOR:
        return None, f"node {version!r} is too old: the suite needs >= {MIN_NODE_MAJOR}"
    missing = [
        p for p in NODE_PACKAGES if not (REPO / "node_modules" / p / "package.json").exists()
    ]
    if missing:
        return None, (
            f"npm packages missing from {REPO / 'node_modules'}: {', '.join(missing)}; "
            "run `npm ci` (they are pinned in package-lock.json)"
        )
    return node, ""


def require_node() -> str:
    """The ``node`` executable; fails (never skips) the test when Node or PouchDB is missing."""
    node, problem = _node_or_problem()
    if node is None:
        pytest.fail(problem, pytrace=False)
    return node


def _summary(script: str, returncode: int, stdout: str, stderr: str) -> Summary:
    lines = [line for line in stdout.splitlines() if line.strip()]
    if returncode != 0 or not lines:
        pytest.fail(
            f"scenario {script} failed (exit {returncode}):\n{stderr.strip()}\n"
            f"--- stdout ---\n{stdout[-2000:]}",
            pytrace=False,
        )
    try:
        summary: Summary = json.loads(lines[-1])
    except json.JSONDecodeError:
        pytest.fail(f"scenario {script}: last stdout line is not JSON: {lines[-1]!r}")
    assert summary.get("ok") is True, summary
    return summary


def run_scenario(script: str, server_url: str) -> Summary:
    """Runs one scenario to completion and returns its summary (fails the test otherwise)."""
    node = require_node()
    try:
        done = subprocess.run(
            [node, str(SCRIPTS / script), server_url],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=SCENARIO_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"scenario {script} did not finish in {SCENARIO_TIMEOUT}s: {exc.stderr!r}")
    return _summary(script, done.returncode, done.stdout, done.stderr)


def run_interactive_scenario(
    script: str,
    server_url: str,
    answer: Callable[[dict[str, Any]], str],
) -> Summary:
    """Runs a scenario that may print ``{"request": ...}`` lines; ``answer`` handles each one
    (e.g. restarts the server) and returns the line to send back."""
    node = require_node()
    process = subprocess.Popen(
        [node, str(SCRIPTS / script), server_url],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()
    errors: list[str] = []

    def pump_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    def pump_stderr() -> None:
        assert process.stderr is not None
        errors.extend(process.stderr)

    pumps = [threading.Thread(target=f, daemon=True) for f in (pump_stdout, pump_stderr)]
    for pump in pumps:
        pump.start()
    stdout: list[str] = []
    deadline = time.monotonic() + SCENARIO_TIMEOUT
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"scenario {script} did not finish in {SCENARIO_TIMEOUT}s")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                break
            stdout.append(line)
            message = _request(line)
            if message is not None:
                reply = answer(message) + "\n"
                try:
                    process.stdin.write(reply)
                    process.stdin.flush()
                except BrokenPipeError:
                    pass  # the script has exited; its stderr says why
        returncode = process.wait(timeout=10)
        pumps[1].join(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        try:
            process.stdin.close()
        except BrokenPipeError:
            pass
    return _summary(script, returncode, "".join(stdout), "".join(errors))


def _request(line: str) -> dict[str, Any] | None:
    try:
        message = json.loads(line)
    except json.JSONDecodeError:
        return None
    return message if isinstance(message, dict) and "request" in message else None
