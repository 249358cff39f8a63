"""Duplicate keys of a submission in bounded memory: 22 bytes a row, whatever the keys.

A row's key (kpi_code, entity_type, entity_code) is kept as its entity's fixed-size
digest, its KPI's number and its row number, in three flat arrays; the duplicates are
found once, at the end, by sorting them. Two million rows cost 44 MB, not a Python object
per key. The entity's digest is computed once per distinct entity text (the validator
memoises it with the entity), so a row costs three appends.

Rules (one function each):
- entity digest: blake2b (16 bytes) of the entity's type and code joined by U+001F, which
  neither can hold (bank codes come from the catalogue, a branch name with a control
  character is refused), so two entities share a digest only if they are equal (a chance
  collision of 128-bit digests is ~1e-26 for two million entities)
- duplicates: every row whose KPI and entity digest an earlier row has, with that first
  row's number, in file order
"""

from __future__ import annotations

import hashlib
from array import array
from dataclasses import dataclass

DIGEST_BYTES = 16
_SEPARATOR = "\x1f"
# Mixes a KPI's number into the entity digest's first 8 bytes for the first, one-key sort
# (an odd multiplier is a bijection modulo 2**64: different KPIs of one entity never meet).
_KPI_MIX = 0x9E3779B97F4A7C15


def entity_digest(entity_type: str, entity_code: str) -> bytes:
    """The fixed-size digest of one entity ('bank', 'icbc'), ('branch', '广东')."""
    text = f"{entity_type}{_SEPARATOR}{entity_code}"
    return hashlib.blake2b(text.encode(), digest_size=DIGEST_BYTES).digest()


@dataclass(frozen=True)
class Duplicate:
    row: int  # the row that repeats a key
    first_row: int  # the first row with that key


class KeyDigests:
    """The keys seen so far (rows added in file order)."""

    def __init__(self) -> None:
        self._entities = bytearray()  # DIGEST_BYTES a row
        self._kpis = array("H")  # the KPI's number in `_kpi_numbers`
        self._rows = array("I")  # a spreadsheet row number fits 32 bits
        self._kpi_numbers: dict[str, int] = {}  # only valid KPIs: as many as the catalogue's

    def add(self, kpi_code: str, entity_digest: bytes, row: int) -> None:
        self._entities += entity_digest
        self._kpis.append(self._kpi_numbers.setdefault(kpi_code, len(self._kpi_numbers)))
        self._rows.append(row)

    def __len__(self) -> int:
        return len(self._rows)

    def duplicates(self, most: int) -> tuple[list[Duplicate], int]:
        """The first `most` rows repeating an earlier row's key, in file order, and how
        many such rows there are in all (a file of repeats must not cost a Python object
        per row: the problems are capped anyway)."""
        import numpy as np  # only here: the rows cost three appends each

        if len(self._rows) < 2:
            return [], 0
        halves = np.frombuffer(self._entities, dtype=np.uint64).reshape(-1, 2)
        kpis = np.frombuffer(self._kpis, dtype=np.uint16)
        rows = np.frombuffer(self._rows, dtype=np.uint32)
        mixed = halves[:, 0] ^ (kpis.astype(np.uint64) * np.uint64(_KPI_MIX))
        candidates = _sharing(mixed)
        if candidates.size == 0:
            return [], 0
        # lexsort is stable: within a group of equal keys, file order, so the group's
        # first entry is its first row
        parts = (kpis[candidates], halves[candidates, 1], halves[candidates, 0])
        order = candidates[np.lexsort(parts)]
        del candidates, parts
        starts = np.zeros(len(order), dtype=bool)  # where a group of equal keys starts
        starts[0] = True
        for part in (halves[order, 0], halves[order, 1], kpis[order]):  # one at a time
            starts[1:] |= part[1:] != part[:-1]
        first = order[starts][np.cumsum(starts) - 1]
        duplicate, of = order[~starts], first[~starts]
        shown = np.argsort(duplicate, kind="stable")[: max(most, 0)]
        found = [
            Duplicate(int(row), int(first_row))
            for row, first_row in zip(rows[duplicate[shown]], rows[of[shown]], strict=True)
        ]
        return found, int(duplicate.size)


def _sharing(values):
    """Positions (ascending) whose value another position shares: a sort of the values
    alone (no positions, not stable: ten times faster) says whether any repeats, which a
    file without duplicates stops at; an unstable argsort then narrows the exact
    three-key sort to the positions that share."""
    import numpy as np

    ordered = np.sort(values)
    if not (ordered[1:] == ordered[:-1]).any():
        return np.empty(0, dtype=np.intp)
    del ordered
    order = np.argsort(values)
    ordered = values[order]
    same = ordered[1:] == ordered[:-1]
    shared = np.zeros(len(order), dtype=bool)
    shared[1:] |= same
    shared[:-1] |= same
    return np.sort(order[shared])
