"""``fieldhall device …``: the reference device client from the command line.

A field device in a shell: ``enroll`` with a one-time code, queue signed ``case``\\s offline,
``sync`` them (push and pull through fieldhall's replicator), ``verify`` what the server
signed, and show the ``status``. The device lives in one state file (default
``./fieldhall-device.json``, created 0600, or ``FIELDHALL_DEVICE_STATE``) and the directory
next to it (``./fieldhall-device.data/``: the outbox, inbox and catalog).

Exit status: 0 on success, 1 when the command failed or something did not verify (one line
on stderr says why), 2 for a usage error. With ``--json``, stdout is exactly one JSON object,
the result or ``{"ok": false, "error": <code>, "reason": …}``.
"""

from __future__ import annotations

import mimetypes
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import click
import orjson

from fieldhall.field_app_api.client import (
    DEFAULT_STATE_FILE,
    DeviceClient,
    DeviceError,
    DocState,
    DocumentStatus,
    Material,
)
from fieldhall.schemas import parse_ijson
from fieldhall.schemas.catalog import CHANNELS, CONSENT_MATERIAL_ID
from fieldhall.schemas.errors import IJsonError
from fieldhall.schemas.sealing import SEALABLE_FIELDS, is_sealed

__all__ = ["device"]

_state_option = click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_STATE_FILE,
    envvar="FIELDHALL_DEVICE_STATE",
    show_default=True,
    help="The device's state file (key, token, chain head; 0600). Its local store is the "
    "directory next to it, named like it with .data.",
)
_json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print exactly one JSON object on stdout."
)


def _options(fn: Callable[..., Any]) -> Callable[..., Any]:
    return _state_option(_json_option(fn))


def _emit(as_json: bool, payload: dict[str, Any], text: str, *, ok: bool = True) -> None:
    if as_json:
        click.echo(orjson.dumps(payload).decode())
    else:
        click.echo(text)
    if not ok:
        sys.exit(1)


def _fail(as_json: bool, error: DeviceError) -> NoReturn:
    if as_json:
        click.echo(orjson.dumps(error.to_json()).decode())
    click.echo(f"fieldhall device: error: {error.code}: {error.message}", err=True)
    sys.exit(1)


def _load(state_path: Path, as_json: bool) -> DeviceClient:
    try:
        return DeviceClient.load(state_path)
    except DeviceError as exc:
        _fail(as_json, exc)


@click.group()
def device() -> None:
    """A field device (the reference client): enroll, queue cases offline, sync, verify."""


# ---------------------------------------------------------------------- enroll


@device.command("enroll")
@click.option("--server", required=True, help="The hall's base URL, e.g. http://127.0.0.1:8000.")
@click.option("--code", required=True, help="The one-time enrollment code (XXXX-XXXX-…).")
@click.option("--name", default="fieldhall reference client", show_default=True)
@_options
def enroll(server: str, code: str, name: str, state_path: Path, as_json: bool) -> None:
    """Enroll with a one-time code (writes the 0600 state file)."""
    try:
        client = DeviceClient.enroll(server, code, name=name, state_path=state_path)
    except DeviceError as exc:
        _fail(as_json, exc)
    state = client.state
    payload = {
        "ok": True,
        "device_id": state.device_id,
        "agent_id": state.agent_id,
        "grid_id": state.grid_id,
        "station_id": state.station_id,
        "sync_url": state.sync_url,
        "server_key_id": state.server_key_id,
        "state_file": str(state_path),
    }
    text = (
        f"enrolled device {state.device_id} for agent {state.agent_id}"
        f" (grid {state.grid_id or '-'}, station {state.station_id or '-'})\n"
        f"sync URL:   {state.sync_url}\n"
        f"state file: {state_path} (0600)"
    )
    _emit(as_json, payload, text)


# ---------------------------------------------------------------------- case


def _json_file(handle: BinaryIO, option: str) -> dict[str, Any]:
    try:
        value = parse_ijson(handle.read())
    except IJsonError as exc:
        raise click.BadParameter(exc.detail, param_hint=option) from None
    if not isinstance(value, dict):
        raise click.BadParameter("expected a JSON object", param_hint=option)
    return value


def _material(path: Path, material_id: str, number: int, option: str) -> Material:
    try:
        found = Material.from_file(path, material_id)
    except (OSError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None
    # Names of our own: unique per case, and free of whatever the file name says about
    # the resident (and of a leading "_", which CouchDB reserves).
    extension = mimetypes.guess_extension(found.content_type) or path.suffix.lower()
    name = f"{material_id}-{number}{extension}"
    return Material(name, found.data, found.content_type, material_id, found.captured_at)


def _photos(values: tuple[str, ...]) -> list[Material]:
    materials: list[Material] = []
    counts: dict[str, int] = {}
    for value in values:
        material_id, sep, path = value.partition("=")
        if not sep or not material_id or not path:
            raise click.BadParameter(
                f"expected MATERIAL_ID=PATH, not {value!r}", param_hint="--photo"
            )
        counts[material_id] = counts.get(material_id, 0) + 1
        materials.append(_material(Path(path), material_id, counts[material_id], "--photo"))
    return materials


def _location(value: str | None) -> dict[str, float] | None:
    if value is None:
        return None
    try:
        numbers = [float(part) for part in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) not in (2, 3):
        raise click.BadParameter("expected LAT,LON or LAT,LON,ACCURACY_M", param_hint="--location")
    location = {"lat": numbers[0], "lon": numbers[1]}
    if len(numbers) == 3:
        location["accuracy_m"] = numbers[2]
    return location


@device.command("case")
@click.option("--matter", "matter_id", required=True, help="The catalog matter id.")
@click.option(
    "--applicant-json",
    type=click.File("rb"),
    required=True,
    help='A JSON file: {"name", "id_number", "phone", "address"} ("-" for stdin).',
)
@click.option(
    "--form-json",
    type=click.File("rb"),
    required=True,
    help="A JSON file: the answers to the matter's form.",
)
@click.option(
    "--photo",
    "photos",
    multiple=True,
    metavar="MATERIAL_ID=PATH",
    help="A file for a catalog material (repeatable).",
)
@click.option(
    "--consent",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The image of the applicant's consent signature.",
)
@click.option("--channel", type=click.Choice(CHANNELS), default="home_visit", show_default=True)
@click.option("--catalog-version", default=None, help="Default: the latest the device knows.")
@click.option("--request-id", default=None, help="The visit request this case answers.")
@click.option("--location", default=None, metavar="LAT,LON[,ACCURACY_M]")
@click.option(
    "--no-seal",
    is_flag=True,
    help="Send applicant.id_number and phone in clear (default: sealed to the hall).",
)
@_options
def case(
    matter_id: str,
    applicant_json: BinaryIO,
    form_json: BinaryIO,
    photos: tuple[str, ...],
    consent: Path,
    channel: str,
    catalog_version: str | None,
    request_id: str | None,
    location: str | None,
    no_seal: bool,
    state_path: Path,
    as_json: bool,
) -> None:
    """Queue a signed case in the outbox (offline).

    The case is sealed, signed at the head of the chain and checked as the server will
    check it; `fieldhall device sync` sends it.
    """
    applicant = _json_file(applicant_json, "--applicant-json")
    form = _json_file(form_json, "--form-json")
    materials = _photos(photos)
    consent_material = _material(consent, CONSENT_MATERIAL_ID, 1, "--consent")
    client = _load(state_path, as_json)
    try:
        with client:
            queued = client.queue_case(
                matter_id,
                applicant,
                form,
                materials,
                consent_material,
                catalog_version=catalog_version,
                channel=channel,
                request_id=request_id,
                location=_location(location),
                seal=not no_seal,
            )
    except DeviceError as exc:
        _fail(as_json, exc)
    doc = queued.doc
    sealed = [
        pointer
        for pointer in SEALABLE_FIELDS["case"]
        if is_sealed(doc["applicant"].get(pointer.rsplit("/", 1)[-1]))
    ]
    payload = {
        "ok": True,
        "id": queued.doc_id,
        "rev": queued.rev,
        "device_seq": doc["device_seq"],
        "matter": doc["matter"],
        "materials": [
            {k: m[k] for k in ("name", "material_id", "sha256", "length", "content_type")}
            for m in doc["materials"]
        ],
        "sealed": sealed,
    }
    files = ", ".join(m["name"] for m in doc["materials"])
    text = (
        f"queued {queued.doc_id} (device_seq {doc['device_seq']}, matter {matter_id}"
        f" {doc['matter']['catalog_version']})\nfiles:  {files}\n"
        f"sealed: {', '.join(sealed) or 'nothing'}"
    )
    _emit(as_json, payload, text)


# ---------------------------------------------------------------------- sync, verify, status


def _line(status: DocumentStatus) -> str:
    head = f"{status.doc_id}  #{status.device_seq}  {status.state.value}"
    if status.state is DocState.ACKNOWLEDGED:
        return f"{head}  {status.receipt_id}  received {status.received_at}"
    return f"{head}  {status.reason}" if status.reason else head


@device.command("sync")
@_options
def sync(state_path: Path, as_json: bool) -> None:
    """Push the outbox, pull and verify receipts and decisions.

    Prints each queued document's receipt (or why it was refused).
    """
    client = _load(state_path, as_json)
    try:
        with client:
            report = client.sync()
    except DeviceError as exc:
        _fail(as_json, exc)
    counts = report.verification.counts()
    lines = [
        f"pushed {report.pushed}, pulled {report.pulled} (catalog {report.catalog_pulled}),"
        f" verified {report.verification.verified}",
        *(_line(s) for s in report.documents),
        *(f"DOES NOT VERIFY: {i.doc_id}: {i.reason}" for i in report.verification.invalid),
        f"outbox: {counts['acknowledged']} acknowledged, {counts['pending']} pending,"
        f" {counts['refused']} refused, {counts['receipt_invalid']} with a bad receipt",
    ]
    _emit(as_json, report.to_json(), "\n".join(lines), ok=report.ok)


@device.command("verify")
@_options
def verify(state_path: Path, as_json: bool) -> None:
    """Verify everything the server signed, and every receipt."""
    client = _load(state_path, as_json)
    try:
        with client:
            report = client.verify()
    except DeviceError as exc:
        _fail(as_json, exc)
    counts = report.counts()
    lines = [
        f"{report.verified} server documents verify, {len(report.invalid)} do not"
        + (f", {report.foreign} of other devices not checked" if report.foreign else ""),
        *(f"DOES NOT VERIFY: {i.doc_id}: {i.reason}" for i in report.invalid),
        *(_line(d) for d in report.documents if d.state is DocState.RECEIPT_INVALID),
        f"receipts: {counts['acknowledged']} of {len(report.documents)} queued documents"
        " acknowledged by a receipt that verifies",
    ]
    _emit(as_json, report.to_json(), "\n".join(lines), ok=report.ok)


@device.command("status")
@_options
def status(state_path: Path, as_json: bool) -> None:
    """Show the device, its chain head and its outbox.

    Offline: the server is asked only for a signing key the device has never seen.
    """
    client = _load(state_path, as_json)
    try:
        with client:
            statuses = client.statuses()
            inbox = len(client.inbox())
            versions = client.catalog_versions()
    except DeviceError as exc:
        _fail(as_json, exc)
    state = client.state
    counts = {s.value: 0 for s in DocState}
    for item in statuses:
        counts[item.state.value] += 1
    waiting = [s for s in statuses if s.state is not DocState.ACKNOWLEDGED]
    payload = {
        "ok": True,
        "device_id": state.device_id,
        "agent_id": state.agent_id,
        "grid_id": state.grid_id,
        "station_id": state.station_id,
        "name": state.name,
        "server": state.server,
        "sync_url": state.sync_url,
        "state_file": str(state_path),
        "device_seq": state.device_seq,
        "prev_hash": state.prev_hash,
        "outbox": counts,
        "inbox": inbox,
        "catalog_versions": versions,
        "documents": [s.to_json() for s in waiting],
    }
    text = "\n".join(
        [
            f"device {state.device_id} of agent {state.agent_id}"
            f" (grid {state.grid_id or '-'}, station {state.station_id or '-'}) at {state.server}",
            f"chain head: device_seq {state.device_seq}, prev_hash {state.prev_hash or '-'}",
            f"outbox: {counts['acknowledged']} acknowledged, {counts['pending']} pending,"
            f" {counts['refused']} refused, {counts['receipt_invalid']} with a bad receipt;"
            f" inbox: {inbox} documents; catalog: {', '.join(versions) or 'not synced yet'}",
            *(_line(s) for s in waiting),
        ]
    )
    _emit(as_json, payload, text)
