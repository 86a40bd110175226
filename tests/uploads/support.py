"""Uploading with the stock tus clients (tuspy, tus-js-client), optionally through the tests'
connection-cutting proxy, and building documents whose attachments are stubs by digest."""

from __future__ import annotations

import hashlib
import io
import json
import random
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed
from tusclient.uploader import Uploader

from fieldhall.field_app_api.client import DeviceClient, Material
from fieldhall.field_app_api.uploads import sha256_digest
from tests.servers import REPO

NODE_SCRIPT = Path(__file__).resolve().parent / "tus_node_upload.js"
TUS = {"Tus-Resumable": "1.0.0"}


def noisy_jpeg(seed: int, size: tuple[int, int] = (480, 360)) -> bytes:
    """A real JPEG of a few hundred KB (noise compresses badly), different per seed."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


class Sha256Uploader(Uploader):  # type: ignore[misc]
    """tuspy sends sha1 checksums by default; the contract's algorithm is sha256."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


def upload_with_tuspy(endpoint: str, token: str, data: bytes, chunk_size: int = 64 * 1024) -> str:
    """Upload ``data`` with tuspy, resuming after every cut connection; returns the URL."""
    client = tus_client.TusClient(endpoint, headers={"Authorization": f"Bearer {token}"})
    uploader: Uploader | None = None
    for _ in range(400):
        try:
            if uploader is None:
                uploader = Sha256Uploader(
                    file_stream=io.BytesIO(data),
                    client=client,
                    chunk_size=chunk_size,
                    upload_checksum=True,
                    retries=3,
                    retry_delay=0,
                    metadata={"filename": "upload.bin"},
                )
            else:
                uploader.offset = uploader.get_offset()
            uploader.upload()
            return str(uploader.url)
        except (TusCommunicationError, TusUploadFailed, httpx.HTTPError, OSError):
            if uploader is not None and uploader.url is None:
                uploader = None  # the creation itself was cut: create another upload
    raise AssertionError("tuspy did not finish the upload in 400 attempts")


def upload_with_node(
    endpoint: str, token: str, data: bytes, chunk_size: int | None = None, creation: bool = False
) -> str:
    node = shutil.which("node")
    assert node is not None, "node is needed for the tus-js-client proof"
    with tempfile.NamedTemporaryFile(suffix=".bin") as handle:
        handle.write(data)
        handle.flush()
        args = [node, str(NODE_SCRIPT), endpoint, token, handle.name, str(chunk_size or "")]
        if creation:
            args.append("with-creation-data")
        done = subprocess.run(args, capture_output=True, text=True, timeout=150, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout.strip().splitlines()[-1])["url"])


def upload_status(url: str, token: str) -> httpx.Response:
    headers = {**TUS, "Authorization": f"Bearer {token}"}
    return httpx.head(url, headers=headers, timeout=30.0)


def with_stubs(doc: Mapping[str, Any], files: Sequence[Material]) -> dict[str, Any]:
    """The document as sent when its files went ahead through /api/v1/uploads."""
    out = dict(doc)
    out["_attachments"] = {
        m.name: {
            "stub": True,
            "digest": sha256_digest(m.sha256),
            "length": len(m.data),
            "content_type": m.content_type,
        }
        for m in files
    }
    return out


def device_token(device: DeviceClient) -> str:
    return str(device.state.token)
