"""Duplicate keys of a submission in bounded memory: 20 bytes a row, whatever the keys.

A row's key (kpi_code, entity_type, entity_code) is kept only as a fixed-size digest next
to its row number, in two flat arrays; the duplicates are found once, at the end, by
sorting the digests. A million-row file costs 20 MB, not a Python object per key.

Rules (one function each):
- key digest: blake2b (16 bytes) of the key's parts joined by U+001F, which no part can
  hold (kpi and bank codes come from the catalogue, a branch name with a control
  character is refused), so two keys share a digest only if they are equal (a chance
  collision of 128-bit digests is ~1e-26 for two million keys)
- duplicates: every row whose digest an earlier row has, with that first row's number,
  in file order
"""

from __future__ import annotations

import hashlib
from array import array
from dataclasses import dataclass

DIGEST_BYTES = 16
_SEPARATOR = "\x1f"


def key_digest(kpi_code: str, entity_type: str, entity_code: str) -> bytes:
    """The fixed-size digest of one row's key."""
    text = f"{kpi_code}{_SEPARATOR}{entity_type}{_SEPARATOR}{entity_code}"
    return hashlib.blake2b(text.encode(), digest_size=DIGEST_BYTES).digest()


@dataclass(frozen=True)
class Duplicate:
    row: int  # the row that repeats a key
    first_row: int  # the first row with that key


class KeyDigests:
    """The keys seen so far, as digests and row numbers (rows added in file order)."""

    def __init__(self) -> None:
        self._digests = bytearray()
        self._rows = array("I")  # a spreadsheet row number fits 32 bits

    def add(self, kpi_code: str, entity_type: str, entity_code: str, row: int) -> None:
        self._digests += key_digest(kpi_code, entity_type, entity_code)
        self._rows.append(row)

    def __len__(self) -> int:
        return len(self._rows)

    def duplicates(self, most: int) -> tuple[list[Duplicate], int]:
        """The first `most` rows repeating an earlier row's key, in file order, and how
        many such rows there are in all (a file of repeats must not cost a Python object
        per row: the problems are capped anyway)."""
        import numpy as np  # only here: validating a small file need not pay for it

        if len(self._rows) < 2:
            return [], 0
        halves = np.frombuffer(self._digests, dtype=np.uint64).reshape(-1, 2)
        rows = np.frombuffer(self._rows, dtype=np.uint32)
        candidates = _sharing_first_half(halves[:, 0])
        if candidates.size == 0:
            return [], 0
        # lexsort is stable: within a group of equal digests, file order, so the group's
        # first entry is its first row
        order = candidates[np.lexsort((halves[candidates, 1], halves[candidates, 0]))]
        sorted_halves = halves[order]
        repeats = np.all(sorted_halves[1:] == sorted_halves[:-1], axis=1)
        starts = np.concatenate(([True], ~repeats))
        first = order[starts][np.cumsum(starts) - 1]
        duplicate, of = order[~starts], first[~starts]
        shown = np.argsort(duplicate, kind="stable")[: max(most, 0)]
        found = [
            Duplicate(int(row), int(first_row))
            for row, first_row in zip(rows[duplicate[shown]], rows[of[shown]], strict=True)
        ]
        return found, int(duplicate.size)


def _sharing_first_half(first_halves):
    """Positions (ascending) whose digest's first 8 bytes another position shares: a cheap
    one-key sort narrows the exact two-key sort to these few."""
    import numpy as np

    order = np.argsort(first_halves, kind="stable")
    ordered = first_halves[order]
    same = ordered[1:] == ordered[:-1]
    shared = np.zeros(len(order), dtype=bool)
    shared[1:] |= same
    shared[:-1] |= same
    return np.sort(order[shared])
