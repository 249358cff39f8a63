"""The package's one SHA-256 helper for files and bytes (hex digests).

Submissions (`raw.load_audit.source_sha256`), rendered and archived PDFs, templates and
migrations are all hashed here, so a hash written by one part is the hash another checks.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK_BYTES = 1 << 20  # files are read a MiB at a time: a 2M-row submission is ~100 MB


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """The SHA-256 (hex) of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
