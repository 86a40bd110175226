"""What a derivation job ends in: one of three frozen values, handed to the hall's callback.

``Derived`` names the files the UI shows and the hashes the duplicate search compares;
``NotDerived`` says there is deliberately nothing to show (a PDF: the UI draws an icon);
``DerivationFailed`` carries a stable error code (see ``errors``) and whether a retry may help.
The hall stores them keyed by ``sha256``; recording the same outcome twice must be harmless
(an upsert), because a job that is submitted again is recorded again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .hashes import PhotoHashes

__all__ = ["DerivationFailed", "Derived", "NotDerived", "Outcome"]


@dataclass(frozen=True, slots=True)
class Derived:
    """Derivatives made (or found already made) for an original.

    ``width`` and ``height`` are the original's size as shown, orientation applied;
    ``files`` maps a variant name (``thumb``, ``preview``) to its JPEG file.
    """

    sha256: str
    content_type: str
    width: int
    height: int
    files: Mapping[str, Path]
    hashes: PhotoHashes


@dataclass(frozen=True, slots=True)
class NotDerived:
    """An original of a type that is shown as an icon, not rendered (PDF)."""

    sha256: str
    content_type: str


@dataclass(frozen=True, slots=True)
class DerivationFailed:
    """An original whose derivatives could not be made; ``code`` is stable (``photo.*``)."""

    sha256: str
    content_type: str
    code: str
    detail: str
    retryable: bool


Outcome = Derived | NotDerived | DerivationFailed
