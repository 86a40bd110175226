"""Photo derivatives for the hall: metadata-free thumbnails and previews, perceptual hashes.

A ``DerivativeWorker`` turns each ``DerivativeJob`` (an original's sha256, content type and
a reader of its signed bytes, which are never changed) into files in a ``DerivativeStore`` and
one ``Outcome`` (``Derived``, ``NotDerived`` for PDFs, ``DerivationFailed``), handed to
a callback so the hall's tables can record them. ``find_near_copies`` (given a ``probe`` of a
thumbnail) flags the same photo, or a near copy, used again; ``find_similar`` is its first,
pHash-only stage.

Modules: ``rendering`` (bytes → JPEG derivatives), ``hashes`` (pHash, dHash, detail hash),
``detail`` (the detail hash's arithmetic), ``nearcopy`` (the decision and its thresholds),
``store`` (files on disk), ``outcomes``, ``worker``, ``errors``.

On the hall's cases (imported by the composition root and the case API, not re-exported
here): ``material_photos`` (``MaterialPhotos``, the background worker that follows
``hall_material``, derives every file and records the near copies across cases),
``derived_index`` (its in-memory index of the derived photos' hashes), ``tables``
(``hall_photo``, ``hall_photo_match``, its checkpoint), ``case_photos`` (a case's photos and
duplicate warnings as the case page shows them, the derivative files).
"""

from .errors import PhotoError
from .hashes import PhotoHashes, find_similar
from .nearcopy import NearCopy, find_near_copies, probe
from .outcomes import DerivationFailed, Derived, NotDerived, Outcome
from .rendering import render
from .store import DerivativeStore
from .worker import DerivativeJob, DerivativeWorker

__all__ = [
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
]
