"""Qualitative data: transcripts (with consent and pseudonymisation), versioned codebooks, coded
segments, agreement between coders, memos, the framework matrix and REFI-QDA (.qdpx) exchange.

Services take ``(uow, actor, ...)`` (reads also accept a bare session) and check roles and sites;
see :mod:`securebase.qualitative.access`.
"""

from securebase.qualitative.agreement import AgreementResult, CoderAgreement, Segment, cohen_kappa
from securebase.qualitative.codebook import (
    add_code,
    code_tree,
    create_codebook,
    find_codebook,
    freeze,
    new_version,
)
from securebase.qualitative.coding import add_memo, apply_code, coder_agreement, remove_segment, segments
from securebase.qualitative.matrix import FrameworkMatrix, export_matrix, framework_matrix
from securebase.qualitative.pseudonymise import pseudonymise
from securebase.qualitative.readers import read_bytes, read_transcript
from securebase.qualitative.refi import build_qde, export_qdpx, validate_qde
from securebase.qualitative.refi_import import import_qdpx
from securebase.qualitative.transcripts import get_transcript, import_transcript, list_transcripts

__all__ = [
    "AgreementResult", "CoderAgreement", "FrameworkMatrix", "Segment", "add_code", "add_memo", "apply_code",
    "build_qde", "code_tree", "coder_agreement", "cohen_kappa", "create_codebook", "export_matrix", "export_qdpx",
    "find_codebook", "framework_matrix", "freeze", "get_transcript", "import_qdpx", "import_transcript",
    "list_transcripts", "new_version", "pseudonymise", "read_bytes", "read_transcript", "remove_segment",
    "segments", "validate_qde",
]
