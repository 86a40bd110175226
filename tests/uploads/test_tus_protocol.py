"""tus 1.0.0 at /api/v1/uploads, request by request: discovery, versions, auth, creation,
offsets, checksums, creation-with-upload, termination, limits — the answers the spec fixes."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest

from fieldhall.field_app_api.client import DeviceClient
from tests.field_fixtures import Hall

from .conftest import blob_bytes, tus_client

OCTETS = {"Content-Type": "application/offset+octet-stream"}


def _sha256(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


def _create(client: httpx.Client, length: int, **headers: str) -> str:
    response = client.post("/api/v1/uploads", headers={"Upload-Length": str(length), **headers})
    assert response.status_code == 201, response.text
    assert response.headers["tus-resumable"] == "1.0.0"
    assert "upload-expires" in response.headers
    return response.headers["location"]


def test_discovery_needs_no_auth_and_lists_extensions(hall: Hall) -> None:
    for path in ("/api/v1/uploads", "/api/v1/uploads/0123456789abcdef0123456789abcdef"):
        response = httpx.options(hall.url + path)
        assert response.status_code == 204
        assert response.headers["tus-version"] == "1.0.0"
        extensions = set(response.headers["tus-extension"].split(","))
        assert extensions == {
            "creation",
            "creation-with-upload",
            "checksum",
            "expiration",
            "termination",
        }
        assert "sha256" in response.headers["tus-checksum-algorithm"].split(",")
        assert int(response.headers["tus-max-size"]) > 0


def test_wrong_or_missing_version_is_412(hall: Hall, bob: DeviceClient) -> None:
    auth = {"Authorization": f"Bearer {bob.state.token}", "Upload-Length": "3"}
    for version in (None, "0.2.2", "1.0"):
        headers = dict(auth) if version is None else {**auth, "Tus-Resumable": version}
        response = httpx.post(hall.url + "/api/v1/uploads", headers=headers)
        assert response.status_code == 412
        assert response.headers["tus-version"] == "1.0.0"


def test_everything_but_discovery_needs_a_device(hall: Hall, bob: DeviceClient) -> None:
    with tus_client(hall, bob) as client:
        location = _create(client, 4)
    with tus_client(hall, None) as anonymous:
        assert anonymous.post("/api/v1/uploads", headers={"Upload-Length": "1"}).status_code == 401
        assert anonymous.head(location).status_code == 401
        patch = anonymous.patch(location, headers={**OCTETS, "Upload-Offset": "0"}, content=b"x")
        assert patch.status_code == 401
        assert anonymous.delete(location).status_code == 401
        bad = {"Authorization": "Bearer not-a-token"}
        assert anonymous.head(location, headers=bad).status_code == 401


def test_another_devices_upload_answers_as_missing(
    hall: Hall, bob: DeviceClient, chelsea: DeviceClient
) -> None:
    with tus_client(hall, bob) as client:
        location = _create(client, 4)
    with tus_client(hall, chelsea) as other:
        assert other.head(location).status_code == 404
        headers = {**OCTETS, "Upload-Offset": "0"}
        assert other.patch(location, headers=headers, content=b"abcd").status_code == 404
        assert other.delete(location).status_code == 404
    with tus_client(hall, bob) as client:
        assert client.head(location).headers["upload-offset"] == "0"


def test_offsets_resume_and_complete_into_the_blob_store(hall: Hall, bob: DeviceClient) -> None:
    data = b"0123456789" * 1000
    with tus_client(hall, bob) as client:
        location = _create(client, len(data), **{"Upload-Metadata": "filename aWQuanBn,private"})
        head = client.head(location)
        assert head.status_code == 200
        assert head.headers["upload-offset"] == "0"
        assert head.headers["upload-length"] == str(len(data))
        assert head.headers["upload-metadata"] == "filename aWQuanBn,private"
        assert head.headers["cache-control"] == "no-store"
        first = client.patch(
            location, headers={**OCTETS, "Upload-Offset": "0"}, content=data[:4000]
        )
        assert first.status_code == 204 and first.headers["upload-offset"] == "4000"
        stale = client.patch(location, headers={**OCTETS, "Upload-Offset": "0"}, content=b"x")
        assert stale.status_code == 409
        wrong_type = client.patch(
            location, headers={"Upload-Offset": "4000", "Content-Type": "text/plain"}, content=b"x"
        )
        assert wrong_type.status_code == 415
        rest = client.patch(
            location, headers={**OCTETS, "Upload-Offset": "4000"}, content=data[4000:]
        )
        assert rest.status_code == 204
        assert rest.headers["upload-offset"] == str(len(data))
        digest = hashlib.sha256(data).hexdigest()
        assert rest.headers["upload-digest"] == "sha256-" + base64.b64encode(
            bytes.fromhex(digest)
        ).decode("ascii")
    assert blob_bytes(hall.data_dir, digest) == data


def test_checksum_mismatch_is_460_and_keeps_the_offset(hall: Hall, bob: DeviceClient) -> None:
    with tus_client(hall, bob) as client:
        location = _create(client, 6)
        headers = {**OCTETS, "Upload-Offset": "0", "Upload-Checksum": _sha256(b"abX")}
        assert client.patch(location, headers=headers, content=b"abc").status_code == 460
        assert client.head(location).headers["upload-offset"] == "0"
        unknown = {**OCTETS, "Upload-Offset": "0", "Upload-Checksum": "crc32 AAAAAA=="}
        assert client.patch(location, headers=unknown, content=b"abc").status_code == 400
        good = {**OCTETS, "Upload-Offset": "0", "Upload-Checksum": _sha256(b"abc")}
        response = client.patch(location, headers=good, content=b"abc")
        assert response.status_code == 204 and response.headers["upload-offset"] == "3"


def test_creation_with_upload(hall: Hall, bob: DeviceClient) -> None:
    with tus_client(hall, bob) as client:
        response = client.post(
            "/api/v1/uploads",
            headers={**OCTETS, "Upload-Length": "10", "Upload-Checksum": _sha256(b"hello")},
            content=b"hello",
        )
        assert response.status_code == 201
        assert response.headers["upload-offset"] == "5"
        location = response.headers["location"]
        assert client.head(location).headers["upload-offset"] == "5"


def test_body_beyond_length_and_oversized_uploads_are_refused(
    hall: Hall, bob: DeviceClient
) -> None:
    with tus_client(hall, bob) as client:
        location = _create(client, 3)
        over = client.patch(location, headers={**OCTETS, "Upload-Offset": "0"}, content=b"abcd")
        assert over.status_code == 400
        assert client.head(location).headers["upload-offset"] == "0"
        huge = client.post("/api/v1/uploads", headers={"Upload-Length": str(1 << 40)})
        assert huge.status_code == 413
        for length in ("-1", "ten", ""):
            bad = client.post("/api/v1/uploads", headers={"Upload-Length": length})
            assert bad.status_code == 400
        bad_meta = client.post(
            "/api/v1/uploads", headers={"Upload-Length": "1", "Upload-Metadata": "k not*base64"}
        )
        assert bad_meta.status_code == 400


def test_termination(hall: Hall, bob: DeviceClient) -> None:
    with tus_client(hall, bob) as client:
        location = _create(client, 8)
        client.patch(location, headers={**OCTETS, "Upload-Offset": "0"}, content=b"abcd")
        response = client.delete(location)
        assert response.status_code == 204
        assert response.headers["tus-resumable"] == "1.0.0"
        assert client.head(location).status_code == 404
        assert (
            client.patch(
                location, headers={**OCTETS, "Upload-Offset": "4"}, content=b"efgh"
            ).status_code
            == 404
        )


@pytest.mark.parametrize("upload_id", ["../../etc/passwd", "x" * 32, "0" * 31])
def test_malformed_ids_are_missing(hall: Hall, bob: DeviceClient, upload_id: str) -> None:
    with tus_client(hall, bob) as client:
        assert client.head(f"/api/v1/uploads/{upload_id}").status_code == 404
