"""Evidence bundles: everything the hall holds about one case, signed, in one zip, and the
offline check of such a zip (``fieldhall evidence export`` / ``verify``)."""

from .export import EvidenceExportError, ExportSummary, export_case
from .verify import Finding, VerifyReport, verify_bundle

__all__ = [
    "EvidenceExportError",
    "ExportSummary",
    "Finding",
    "VerifyReport",
    "export_case",
    "verify_bundle",
]
