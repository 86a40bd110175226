"""The service catalog (事项清单): immutable, versioned data files shipped with the package.

``load_catalog()`` gives the latest version, ``load_catalog("2025.2")`` an older one (a case is
judged against the version it names); ``Catalog.matter(id)`` a matter. The files live next to
this module as ``<version>.json`` and are checked at load against ``meta.schema.json``.
"""

from __future__ import annotations

from fieldhall.schemas.catalog.loader import (
    catalog_versions,
    check_catalog_document,
    load_catalog,
    load_catalog_document,
    meta_schema,
)
from fieldhall.schemas.catalog.model import (
    CHANNELS,
    CONSENT_MATERIAL_ID,
    DELIVERY_METHODS,
    Catalog,
    Limits,
    Material,
    Matter,
    Names,
    Step,
)
from fieldhall.schemas.catalog.portable import check_form_schema

__all__ = [
    "CHANNELS",
    "CONSENT_MATERIAL_ID",
    "DELIVERY_METHODS",
    "Catalog",
    "Limits",
    "Material",
    "Matter",
    "Names",
    "Step",
    "catalog_versions",
    "check_catalog_document",
    "check_form_schema",
    "load_catalog",
    "load_catalog_document",
    "meta_schema",
]
