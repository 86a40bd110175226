"""``DerivativeStore``: content-addressed, complete-or-absent, atomic files."""

from __future__ import annotations

import json

import pytest

from fieldhall.server.photos import DerivativeStore, render
from fieldhall.server.photos.rendering import DEFAULT_VARIANTS, PREVIEW, THUMBNAIL
from fieldhall.server.photos.store import MANIFEST_NAME, RENDERING_VERSION

from .conftest import camera_photo, sha256


def saved(store: DerivativeStore) -> str:
    data = camera_photo()
    rendering = render(data, "image/jpeg")
    assert rendering is not None
    digest = sha256(data)
    store.save(digest, "image/jpeg", rendering)
    return digest


def test_files_live_under_the_originals_digest_and_variant(store: DerivativeStore) -> None:
    digest = saved(store)
    directory = store.root / "sha256" / digest[:2] / digest[2:4] / digest
    assert sorted(path.name for path in directory.iterdir()) == [
        MANIFEST_NAME,
        "preview-1280.jpg",
        "thumb-256.jpg",
    ]
    assert store.path_of(digest, THUMBNAIL) == directory / "thumb-256.jpg"
    assert store.path_of(digest, PREVIEW) == directory / "preview-1280.jpg"


def test_a_saved_set_loads_back_the_same(store: DerivativeStore) -> None:
    data = camera_photo()
    rendering = render(data, "image/jpeg")
    assert rendering is not None
    derived = store.save(sha256(data), "image/jpeg", rendering)
    assert store.load(sha256(data)) == derived
    assert derived.files["thumb"].read_bytes() == rendering.images["thumb"]
    assert (derived.width, derived.height) == (300, 200)  # as shown, upright


def test_saving_again_is_harmless_and_leaves_no_temporary_files(store: DerivativeStore) -> None:
    digest = saved(store)
    before = {path.name: path.read_bytes() for path in store.directory(digest).iterdir()}
    saved(store)
    after = {path.name: path.read_bytes() for path in store.directory(digest).iterdir()}
    assert before == after
    assert not [path for path in store.root.rglob(".tmp-*")]


@pytest.mark.parametrize(
    "damage", ["no manifest", "old version", "missing file", "empty file", "bad json"]
)
def test_an_incomplete_or_outdated_set_is_not_loaded(store: DerivativeStore, damage: str) -> None:
    digest = saved(store)
    manifest = store.directory(digest) / MANIFEST_NAME
    if damage == "no manifest":
        manifest.unlink()
    elif damage == "old version":
        content = json.loads(manifest.read_bytes())
        content["version"] = RENDERING_VERSION - 1
        manifest.write_text(json.dumps(content))
    elif damage == "missing file":
        store.path_of(digest, PREVIEW).unlink()
    elif damage == "empty file":
        store.path_of(digest, THUMBNAIL).write_bytes(b"")
    else:
        manifest.write_text("{")
    assert store.load(digest) is None


def test_a_set_without_a_requested_variant_is_not_loaded(store: DerivativeStore) -> None:
    data = camera_photo()
    rendering = render(data, "image/jpeg", (THUMBNAIL,))
    assert rendering is not None
    store.save(sha256(data), "image/jpeg", rendering, (THUMBNAIL,))
    assert store.load(sha256(data), (THUMBNAIL,)) is not None
    assert store.load(sha256(data), DEFAULT_VARIANTS) is None


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABC", "A" * 64, "0" * 63])
def test_only_a_sha256_names_a_directory(store: DerivativeStore, bad: str) -> None:
    with pytest.raises(ValueError):
        store.directory(bad)
