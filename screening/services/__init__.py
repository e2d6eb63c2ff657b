"""Screening writes: loading the TPS register, importing suppressions."""

from screening.services.chunks import SUPPRESSED_CODE, TPS_CODE, chunk_screen
from screening.services.suppressions import (
    SuppressionFileError,
    SuppressionImport,
    suppressions_import,
)
from screening.services.tps import TpsFileEmpty, TpsImport, tps_import

__all__ = [
    "SUPPRESSED_CODE",
    "TPS_CODE",
    "SuppressionFileError",
    "SuppressionImport",
    "TpsFileEmpty",
    "TpsImport",
    "chunk_screen",
    "suppressions_import",
    "tps_import",
]
