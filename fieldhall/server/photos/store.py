"""Derivatives on disk, addressed by the original's sha256 and the variant.

Layout::

    <root>/sha256/ab/cd/<sha256 of the original>/thumb-256.jpg
                                                 preview-1280.jpg
                                                 derived.json

Each file is written to a temporary name in its directory, fsynced, renamed into place and the
directory fsynced, so a reader never sees half a file and a path the hall has recorded survives
a power cut. ``derived.json`` (size, hashes, files, ``RENDERING_VERSION``) is written last:
it marks the set complete, so a job whose derivatives are already there is answered from it
without decoding the original again. Saving the same original twice writes the same bytes
(encoding is deterministic), so concurrent saves are harmless.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .hashes import PhotoHashes
from .outcomes import Derived
from .rendering import DEFAULT_VARIANTS, Rendering, Variant

__all__ = ["MANIFEST_NAME", "RENDERING_VERSION", "DerivativeStore"]

# Bump when the derivatives' pixels or hashes change: stored sets of an older version are
# made again when their original is next submitted.
RENDERING_VERSION = 1
MANIFEST_NAME = "derived.json"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class DerivativeStore:
    def __init__(self, root: Path | str, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        (self.root / "sha256").mkdir(parents=True, exist_ok=True)

    def directory(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a lowercase hex sha256: {sha256!r}")
        return self.root / "sha256" / sha256[:2] / sha256[2:4] / sha256

    def path_of(self, sha256: str, variant: Variant) -> Path:
        return self.directory(sha256) / variant.filename

    def save(
        self,
        sha256: str,
        content_type: str,
        rendering: Rendering,
        variants: Sequence[Variant] = DEFAULT_VARIANTS,
    ) -> Derived:
        directory = self.directory(sha256)
        created = self._make(directory)
        files = {}
        for variant in variants:
            path = directory / variant.filename
            self._write(path, rendering.images[variant.name])
            files[variant.name] = path
        # The files' names are durable before the manifest that vouches for them.
        self._sync_directory(directory)
        manifest = {
            "version": RENDERING_VERSION,
            "content_type": content_type,
            "width": rendering.width,
            "height": rendering.height,
            "phash": rendering.hashes.phash,
            "dhash": rendering.hashes.dhash,
            "detail": rendering.hashes.detail,
            "files": {name: path.name for name, path in files.items()},
        }
        self._write(directory / MANIFEST_NAME, json.dumps(manifest, sort_keys=True).encode())
        self._sync_directory(directory)
        # A directory made here is durable once its parent's entry is.
        for each in created:
            self._sync_directory(each.parent)
        return Derived(
            sha256=sha256,
            content_type=content_type,
            width=rendering.width,
            height=rendering.height,
            files=files,
            hashes=rendering.hashes,
        )

    def load(self, sha256: str, variants: Sequence[Variant] = DEFAULT_VARIANTS) -> Derived | None:
        """The stored set for ``sha256`` if it is complete and current, else ``None``."""
        directory = self.directory(sha256)
        try:
            manifest: Any = json.loads((directory / MANIFEST_NAME).read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(manifest, dict) or manifest.get("version") != RENDERING_VERSION:
            return None
        try:
            named = manifest["files"]
            files = {variant.name: directory / named[variant.name] for variant in variants}
            derived = Derived(
                sha256=sha256,
                content_type=str(manifest["content_type"]),
                width=int(manifest["width"]),
                height=int(manifest["height"]),
                files=files,
                hashes=PhotoHashes(
                    phash=str(manifest["phash"]),
                    dhash=str(manifest["dhash"]),
                    detail=str(manifest["detail"]),
                ),
            )
        except (KeyError, TypeError, ValueError):
            return None
        expected = {variant.name: variant.filename for variant in variants}
        if any(files[name].name != expected[name] or not _nonempty(files[name]) for name in files):
            return None
        return derived

    def _make(self, directory: Path) -> list[Path]:
        """Make ``directory`` and its missing parents; the ones made, deepest first."""
        missing = []
        for each in (directory, directory.parent, directory.parent.parent):
            if each.is_dir():
                break
            missing.append(each)
        for each in reversed(missing):
            each.mkdir(exist_ok=True)
        return missing

    def _write(self, path: Path, data: bytes) -> None:
        fd, name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                if self.fsync:
                    os.fsync(handle.fileno())
            os.replace(name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
            raise

    def _sync_directory(self, directory: Path) -> None:
        if not self.fsync:
            return
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _nonempty(path: Path) -> bool:
    # Without fsync, a crash can leave a renamed file empty; then the set is made again.
    try:
        return path.stat().st_size > 0
    except OSError:
        return False
