"""``/api/v1/uploads``: tus 1.0.0 (core, creation, creation-with-upload, checksum,
expiration, termination) for enrolled devices.

Discovery (``OPTIONS``) is public, as tus expects; every other request needs the device's
``Authorization: Bearer <token>`` and sees only that device's uploads (another device's
upload answers 404, as a missing one). Every response but ``OPTIONS`` carries
``Tus-Resumable: 1.0.0``; a request without that header gets 412 with ``Tus-Version``.

When an upload completes, its response also carries ``Upload-Digest: sha256-<base64>``: the
digest a document's attachment stub names to use those bytes (ARCHITECTURE, "Signed
documents").
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from litestar import Controller, MediaType, Request, Response, delete, head, post, route
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from ..devices import DeviceIdentity
from ..errors import FieldError
from ..http.auth import require_device, service_of
from .errors import BodyInterrupted, UploadError
from .protocol import (
    CHECKSUM_ALGORITHMS,
    EXTENSIONS,
    TUS_VERSION,
    check_content_type,
    check_version,
    http_date,
    parse_checksum,
    parse_length,
    parse_metadata,
    parse_offset,
)
from .service import Upload, Uploads
from .stubs import sha256_digest

__all__ = ["UploadsController", "uploads_of"]

Req = Request[Any, Any, Any]


def uploads_of(request: Req) -> Uploads:
    """The app's :class:`Uploads` (``app.state.uploads``), made on first use if unset."""
    uploads: Uploads | None = getattr(request.app.state, "uploads", None)
    if uploads is None:
        uploads = Uploads(service_of(request))
        request.app.state.uploads = uploads
    return uploads


def _headers(upload: Upload | None = None, **extra: str) -> dict[str, str]:
    headers = {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}
    if upload is not None:
        headers["Upload-Offset"] = str(upload.offset)
        headers["Upload-Expires"] = http_date(upload.expires_at)
        if upload.sha256 is not None:
            headers["Upload-Digest"] = sha256_digest(upload.sha256)
    return headers


def _empty(status: int, headers: dict[str, str]) -> Response[None]:
    return Response(None, status_code=status, headers=headers, media_type=MediaType.TEXT)


def _discovery(uploads: Uploads | None = None) -> Response[None]:
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": ",".join(EXTENSIONS),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
    }
    if uploads is not None:
        headers["Tus-Max-Size"] = str(uploads.settings.max_size)
    return _empty(HTTP_204_NO_CONTENT, headers)


def _error(request: Req, exc: FieldError) -> Response[dict[str, str]]:
    headers = {"Tus-Resumable": TUS_VERSION}
    if exc.status == 412:
        headers["Tus-Version"] = TUS_VERSION
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="fieldhall"'
    return Response(exc.to_json(), status_code=exc.status, headers=headers)


def _http_error(request: Req, exc: HTTPException) -> Response[dict[str, str]]:
    headers = {"Tus-Resumable": TUS_VERSION}
    body = {"error": "bad_request", "reason": str(exc.detail)}
    return Response(body, status_code=exc.status_code, headers=headers)


async def _device(request: Req) -> DeviceIdentity:
    check_version(request.headers.get("tus-resumable"))
    return await anyio.to_thread.run_sync(require_device, request)


async def _body(request: Req) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except HTTPException as exc:
        # Litestar's way of saying the client disconnected mid-body.
        raise BodyInterrupted(str(exc.detail)) from exc


def _has_body(request: Req) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "chunked" in request.headers.get("transfer-encoding", "").lower()


def _declared_length(request: Req) -> int | None:
    value = request.headers.get("content-length")
    return int(value) if value is not None and value.strip().isdigit() else None


def _interrupted() -> Response[None]:
    # Nobody is listening any more; the bytes that arrived are kept for the next PATCH.
    return _empty(400, {"Tus-Resumable": TUS_VERSION})


class UploadsController(Controller):
    path = "/api/v1/uploads"
    tags = ("uploads",)
    exception_handlers = {UploadError: _error, FieldError: _error, HTTPException: _http_error}  # noqa: RUF012

    # Litestar registers a controller's handlers in name order and gives a path its own
    # OPTIONS handler unless the first handler registered there answers OPTIONS: these two
    # are named to come first ("ad…" < "append" < "create").
    @route("/", http_method="OPTIONS", include_in_schema=True, sync_to_thread=False)
    def advertise(self, request: Req) -> Response[None]:
        """tus discovery: version, extensions, checksum algorithms, maximum size (no auth)."""
        return _discovery(uploads_of(request))

    @route("/{upload_id:str}", http_method="OPTIONS", include_in_schema=False, sync_to_thread=False)
    def advertise_at_upload(self, request: Req, upload_id: str) -> Response[None]:
        return _discovery(uploads_of(request))

    @post("/", status_code=HTTP_201_CREATED, request_max_body_size=None)
    async def create(self, request: Req) -> Response[None]:
        """Create an upload (``Upload-Length``, ``Upload-Metadata``); with a body of type
        ``application/offset+octet-stream`` its first bytes too (creation-with-upload)."""
        device = await _device(request)
        length = parse_length(request.headers.get("upload-length"))
        metadata = request.headers.get("upload-metadata") or ""
        parse_metadata(metadata)
        with_body = _has_body(request)
        checksum = None
        if with_body:
            check_content_type(request.headers.get("content-type"))
            checksum = parse_checksum(request.headers.get("upload-checksum"))
        uploads = uploads_of(request)
        upload = await anyio.to_thread.run_sync(uploads.create, device.device_id, length, metadata)
        if with_body:
            try:
                upload = await uploads.receive(
                    upload, 0, _body(request), checksum, _declared_length(request)
                )
            except BodyInterrupted:
                return _interrupted()
        location = f"{str(request.base_url).rstrip('/')}{self.path}/{upload.upload_id}"
        headers = _headers(upload, Location=location)
        if not with_body:
            del headers["Upload-Offset"]
        return _empty(HTTP_201_CREATED, headers)

    @head("/{upload_id:str}")
    async def status(self, request: Req, upload_id: str) -> Response[None]:
        """Where the upload stands: ``Upload-Offset``, ``Upload-Length``, ``Upload-Metadata``."""
        device = await _device(request)
        upload = await anyio.to_thread.run_sync(
            uploads_of(request).find, device.device_id, upload_id
        )
        headers = _headers(upload, **{"Upload-Length": str(upload.length)})
        if upload.metadata_header:
            headers["Upload-Metadata"] = upload.metadata_header
        return _empty(200, headers)

    @route(
        "/{upload_id:str}",
        http_method="PATCH",
        status_code=HTTP_204_NO_CONTENT,
        request_max_body_size=None,
    )
    async def append(self, request: Req, upload_id: str) -> Response[None]:
        """Append the body at ``Upload-Offset`` (``Upload-Checksum`` optional)."""
        device = await _device(request)
        check_content_type(request.headers.get("content-type"))
        offset = parse_offset(request.headers.get("upload-offset"))
        checksum = parse_checksum(request.headers.get("upload-checksum"))
        uploads = uploads_of(request)
        upload = await anyio.to_thread.run_sync(uploads.find, device.device_id, upload_id)
        try:
            upload = await uploads.receive(
                upload, offset, _body(request), checksum, _declared_length(request)
            )
        except BodyInterrupted:
            return _interrupted()
        return _empty(HTTP_204_NO_CONTENT, _headers(upload))

    @delete("/{upload_id:str}", status_code=HTTP_204_NO_CONTENT)
    async def terminate(self, request: Req, upload_id: str) -> Response[None]:
        """Delete the upload and its bytes (tus termination)."""
        device = await _device(request)
        await anyio.to_thread.run_sync(uploads_of(request).terminate, device.device_id, upload_id)
        return _empty(HTTP_204_NO_CONTENT, _headers())
