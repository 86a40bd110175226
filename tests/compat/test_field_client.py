"""A third-party field app, written from ARCHITECTURE alone, against a running hall.

``tests/compat/field/client.js`` uses only what ``../shared/ARCHITECTURE.md`` and the
server's published schemas and catalog say, with npm ``canonicalize`` (RFC 8785), Node's
Ed25519/X25519 and stock PouchDB 9: it enrolls with a code, seals applicant fields with HPKE,
signs three cases with photos on its hash chain, pushes them with PouchDB, pulls its channel
and verifies a server-signed receipt for each, then checks that a tampered case is refused
(``forbidden``, nothing stored) and that an identical re-send is a no-op. Node or its packages
missing is a failure, never a skip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.field_fixtures import running_hall
from tests.servers import REPO

CLIENT = Path(__file__).resolve().parent / "field" / "client.js"
NODE_PACKAGES = ("pouchdb", "pouchdb-adapter-memory", "canonicalize")
# canonicalize 5 is an ES module; require() of ES modules is unflagged from Node 20.19.
MIN_NODE = (20, 19)
TIMEOUT = 120.0  # seconds; the script's own watchdog is 60 s


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            f"`node` is not on PATH: the field client test needs Node.js >= "
            f"{MIN_NODE[0]}.{MIN_NODE[1]} (then run `npm ci` in {REPO})",
            pytrace=False,
        )
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=10, check=False
    ).stdout.strip()
    parts = version.lstrip("v").split(".")
    found = (int(parts[0]), int(parts[1])) if version.startswith("v") and len(parts) > 1 else (0, 0)
    if found < MIN_NODE:
        pytest.fail(
            f"node {version!r} is too old: the field client needs >= {MIN_NODE[0]}.{MIN_NODE[1]}",
            pytrace=False,
        )
    missing = [
        p for p in NODE_PACKAGES if not (REPO / "node_modules" / p / "package.json").exists()
    ]
    if missing:
        pytest.fail(
            f"npm packages missing from {REPO / 'node_modules'}: {', '.join(missing)}; "
            "run `npm ci` (they are pinned in package-lock.json)",
            pytrace=False,
        )
    return node


def _run_client(node: str, url: str, code: str) -> dict[str, Any]:
    try:
        done = subprocess.run(
            [node, str(CLIENT), url, code],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"field client did not finish in {TIMEOUT}s: {exc.stderr!r}", pytrace=False)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        pytest.fail(
            f"field client failed (exit {done.returncode}):\n{done.stderr.strip()}\n"
            f"--- stdout ---\n{done.stdout[-2000:]}",
            pytrace=False,
        )
    summary: dict[str, Any] = json.loads(lines[-1])
    assert summary.get("ok") is True, summary
    return summary


def test_field_app_written_from_architecture(tmp_path: Path) -> None:
    node = _node()
    with running_hall(tmp_path / "hall") as hall:
        agent = hall.new_agent("王芳", grid="grid-compat")
        summary = _run_client(node, hall.url, str(agent["enrollment_code"]))
        with hall.admin() as admin:
            devices = admin.get("/api/v1/admin/devices")
            devices.raise_for_status()

    assert summary["agent_id"] == agent["agent_id"]
    assert summary["device_id"] in json.dumps(devices.json())
    assert 400 <= summary["spent_code_status"] < 500
    assert summary["no_token_status"] == 401

    # Three cases with photos, on the chain 1, 2, 3; two of them with sealed fields.
    assert [seq for _, seq, _ in summary["chain"]] == [1, 2, 3]
    assert summary["chain"][0][2] is None and all(h for _, _, h in summary["chain"][1:])
    assert summary["sealed_fields"] == 4
    push = summary["push"]
    assert (push["docs_written"], push["doc_write_failures"], push["errors"]) == (3, 0, [])

    # A verified, server-signed receipt for each; the server kept the signed bytes and photos.
    assert summary["receipts_verified"] == 3
    assert len(summary["receipt_kids"]) == 1
    assert summary["receipt_kids"][0].startswith("server:")
    assert summary["attachments_verified"] == 11
    assert summary["channel_types"] == {"case": 3, "receipt": 3}

    # Tampering is refused for good; an identical re-send is a no-op.
    assert summary["tampered"]["error"] == "forbidden"
    assert summary["tampered"]["reason"].startswith("bad_signature: ")
    assert summary["tampered"]["get_status"] == 404
    resend = summary["resend"]
    assert (resend["docs_written"], resend["doc_write_failures"]) == (1, 0)
    assert resend["server_leaves"] == 1
    assert resend["receipts_for_doc"] == 1
