"""Evidence bundles: exported from a live hall, verified offline, and every tampering —
a changed byte in any entry, an added or a removed entry — is caught and named."""

from __future__ import annotations

import base64
import io
import json
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldhall.field_app_api.client import DeviceClient
from fieldhall.server.evidence import export_case, verify_bundle
from fieldhall.server.evidence_cmd import evidence
from fieldhall.server.settings import Settings
from fieldhall.server.stores import open_field
from tests.field_fixtures import Hall, running_hall, senior_card_case


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    with running_hall(tmp_path_factory.mktemp("evidence") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def bob(hall: Hall, tmp_path_factory: pytest.TempPathFactory) -> DeviceClient:
    return hall.enroll("bob", tmp=tmp_path_factory.mktemp("bob"))


def _push_case(device: DeviceClient, seed: int) -> str:
    case, files = senior_card_case(device, seed)
    [result] = device.push([device.with_attachments(case, files)])
    assert result.get("ok") is True, result
    return str(case["_id"])


@pytest.fixture(scope="module")
def case_id(hall: Hall, bob: DeviceClient) -> str:
    _push_case(bob, 1)  # chain context before the case…
    case_id = _push_case(bob, 2)
    _push_case(bob, 3)  # …and after it
    return case_id


@pytest.fixture(scope="module")
def bundle(hall: Hall, case_id: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundles") / "case.zip"
    runner = CliRunner()
    result = runner.invoke(
        evidence, ["export", case_id, "-o", str(out), "--data-dir", str(hall.data_dir), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["case_id"] == case_id and summary["documents"] >= 2
    return out


def _entries(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rewrite(path: Path, entries: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    path.write_bytes(buffer.getvalue())


def _server_key(hall: Hall) -> str:
    keys = httpx.get(hall.url + "/api/v1/keys").json()["keys"]
    current = [k for k in keys if k["valid_until"] is None]
    return str(current[0]["public_key"])


def test_bundle_holds_the_case_its_files_keys_and_chain(bundle: Path, case_id: str) -> None:
    entries = _entries(bundle)
    names = set(entries)
    assert "manifest.json" in names and "keys/server.json" in names
    assert f"documents/case/{case_id.partition(':')[2]}.json" in names
    receipts = [n for n in names if n.startswith("documents/receipt/")]
    assert receipts, "the case's receipt is part of the evidence"
    case = json.loads(entries[f"documents/case/{case_id.partition(':')[2]}.json"])
    for material in case["materials"]:
        assert entries[f"attachments/{material['sha256']}"]  # original bytes, by address
    [device_key] = [n for n in names if n.startswith("keys/devices/")]
    assert json.loads(entries[device_key])["device_id"] == case["device_id"]
    chain = json.loads(entries[f"chain/{case['device_id']}.json"])
    seqs = [e["device_seq"] for e in chain["entries"]]
    assert seqs == [case["device_seq"] - 1, case["device_seq"], case["device_seq"] + 1]
    manifest = json.loads(entries["manifest.json"])
    assert set(manifest["entries"]) == names - {"manifest.json"}
    assert manifest["signature"]["kid"].startswith("server:")


def test_verify_passes_offline_and_with_the_pinned_key(
    hall: Hall, bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nowhere = tmp_path / "no-data-dir"
    monkeypatch.setenv("FIELDHALL_DATA_DIR", str(nowhere))
    monkeypatch.setenv("FIELDHALL_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    copy = tmp_path / "copy.zip"
    copy.write_bytes(bundle.read_bytes())
    runner = CliRunner()
    plain = runner.invoke(evidence, ["verify", str(copy)])
    assert plain.exit_code == 0, plain.output
    pinned = runner.invoke(evidence, ["verify", str(copy), "--server-key", _server_key(hall)])
    assert pinned.exit_code == 0, pinned.output
    report = json.loads(runner.invoke(evidence, ["verify", str(copy), "--json"]).output)
    assert report["ok"] is True and report["checked"]["signatures"] >= 3
    assert report["checked"]["chain links"] >= 2 and report["checked"]["attachments"] >= 3
    assert not nowhere.exists()


def test_a_different_pinned_key_fails_the_manifest(bundle: Path) -> None:
    other = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    key = base64.urlsafe_b64encode(other).decode().rstrip("=")
    result = CliRunner().invoke(evidence, ["verify", str(bundle), "--server-key", key])
    assert result.exit_code == 1
    assert "FAIL manifest.json: signed by server:" in result.output


def _positions(length: int, rng: random.Random) -> list[int]:
    fixed = {0, length // 2, length - 1}
    return sorted(fixed | {rng.randrange(length) for _ in range(2)})


def test_every_single_byte_change_in_any_entry_is_named(bundle: Path, tmp_path: Path) -> None:
    original = _entries(bundle)
    rng = random.Random(7)
    tampered = tmp_path / "tampered.zip"
    tried = 0
    for name, data in original.items():
        for position in _positions(len(data), rng):
            changed = bytearray(data)
            changed[position] ^= 0x01 if rng.random() < 0.5 else 0x80
            _rewrite(tampered, {**original, name: bytes(changed)})
            report = verify_bundle(tampered)
            named = {f.entry for f in report.failures}
            assert not report.ok, f"{name}@{position}: tampering not detected"
            assert name in named, f"{name}@{position}: failures name {sorted(named)}"
            tried += 1
    assert tried >= 5 * 6


def test_an_added_entry_is_named(bundle: Path, tmp_path: Path) -> None:
    original = _entries(bundle)
    tampered = tmp_path / "added.zip"
    for extra in ("attachments/" + "0" * 64, "documents/case/EXTRA.json", "notes.txt"):
        _rewrite(tampered, {**original, extra: b"{}"})
        report = verify_bundle(tampered)
        assert extra in {f.entry for f in report.failures}
        assert any("added" in f.reason for f in report.failures if f.entry == extra)


def test_a_removed_entry_is_named(bundle: Path, tmp_path: Path) -> None:
    original = _entries(bundle)
    tampered = tmp_path / "removed.zip"
    for name in original:
        _rewrite(tampered, {k: v for k, v in original.items() if k != name})
        report = verify_bundle(tampered)
        assert not report.ok, f"removing {name} went unnoticed"
        assert name in {f.entry for f in report.failures}, (name, report.failures)


def test_not_a_zip_is_named(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    result = CliRunner().invoke(evidence, ["verify", str(junk)])
    assert result.exit_code == 1 and "FAIL bundle:" in result.output


def test_export_while_the_server_writes_and_after_key_rotation(
    hall: Hall, bob: DeviceClient, case_id: str, tmp_path: Path
) -> None:
    hall.cli("keys", "rotate")
    later = _push_case(bob, 9)  # receipt signed with the new key, case receipt with the old
    field = open_field(Settings.from_env(data_dir=hall.data_dir))
    try:
        summary = export_case(field, case_id, tmp_path / "rotated.zip")
        export_case(field, later, tmp_path / "later.zip")
    finally:
        field.store.db.dispose()
    assert summary.key_id == _server_key_id(hall)
    for name in ("rotated.zip", "later.zip"):
        report = verify_bundle(tmp_path / name, _server_key(hall))
        assert report.ok, report.failures


def _server_key_id(hall: Hall) -> str:
    keys = httpx.get(hall.url + "/api/v1/keys").json()["keys"]
    return str(next(k["key_id"] for k in keys if k["valid_until"] is None))


def test_unknown_case_is_refused(hall: Hall, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        evidence,
        ["export", "case:NOPE", "-o", str(tmp_path / "x.zip"), "--data-dir", str(hall.data_dir)],
    )
    assert result.exit_code != 0 and "no document case:NOPE" in result.output
