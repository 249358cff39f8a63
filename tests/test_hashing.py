"""The one hash helper: a file read in chunks hashes as its bytes do (the archive compares
`sha256_hex` of the bytes it writes with `file_sha256` of the file it finds)."""

import hashlib

from strategy_briefs.hashing import file_sha256, sha256_hex


def test_a_file_longer_than_a_chunk_hashes_as_its_bytes(tmp_path):
    data = bytes(range(256)) * 8193  # two MiB and a bit: three reads
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    assert file_sha256(path) == sha256_hex(data) == hashlib.sha256(data).hexdigest()


def test_an_empty_file_hashes_as_no_bytes(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert file_sha256(path) == hashlib.sha256(b"").hexdigest()
