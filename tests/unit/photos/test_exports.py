"""The public face of ``fieldhall.server.photos`` is exactly the intended names."""

from __future__ import annotations

import fieldhall.server.photos
import fieldhall.server.photos.errors as errors

INTENDED = {
    "DerivationFailed",
    "DerivativeJob",
    "DerivativeStore",
    "DerivativeWorker",
    "Derived",
    "NearCopy",
    "NotDerived",
    "Outcome",
    "PhotoError",
    "PhotoHashes",
    "find_near_copies",
    "find_similar",
    "probe",
    "render",
}


def test_exported_names_are_exactly_the_intended_ones() -> None:
    assert set(fieldhall.server.photos.__all__) == INTENDED
    for name in INTENDED:
        assert hasattr(fieldhall.server.photos, name)


def test_every_error_is_a_photo_error_with_its_own_stable_code() -> None:
    classes = [getattr(errors, name) for name in errors.__all__]
    assert all(issubclass(cls, errors.PhotoError) for cls in classes)
    codes = [cls.code for cls in classes if cls is not errors.PhotoError]
    assert len(codes) == len(set(codes)) == len(classes) - 1
    assert all(code.startswith("photo.") for code in codes)
    assert {cls.code for cls in classes if cls.retryable} == {
        "photo.original_unavailable",
        "photo.unexpected",
    }
