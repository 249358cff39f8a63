"""Duplicate keys of a submission, decided on the exact keys as the rows are read.

A row's key is its period, KPI and entity: the primary key of raw.lob_figures, the file's
line of business being one (docs/submission-contract.md §6). A repeat is known on the row
that repeats, so the validator reports it there, from the row in hand: the file is read
once. The keys are grouped by period and KPI (`Keys`); a group (`EntityKeys`) keeps its
entities' exact keys, each with the row it was first seen on, one after another in a flat
bytearray, found through an open-addressing table. A key costs its bytes and 5 more, plus
16 to 32 bytes of table, never a Python object: two million keys of 50-character branch
names take about 230 MB (bench/bench_validate_memory.py).

Rules (one function each):
- entity key:  `entity_key`, the entity's type in one byte, then its code in GB18030,
               which encodes every character one way (a code read from a file holds no
               lone surrogate, the one thing it cannot encode), ASCII in 1 byte and the
               common Chinese characters in 2: two entities have equal keys only if they
               are equal ('bank' icbc is not 'branch' icbc)
- first row:   `EntityKeys.first_row`, the row that first had the key, or None when no row
               did (the row is now the key's first): keys are compared byte for byte, a hash
               only says where to look
"""

from __future__ import annotations

from array import array

_ENTITY_TYPES = {"bank": b"b", "branch": b"r"}
_FIRST_SLOTS = 8  # a group's first table; it doubles when half full
_ROW_BYTES = 4  # a row number (an .xlsx has at most 1,048,576 rows), little-endian
_HASH_BITS = (1 << 32) - 1  # the hash's bits a slot keeps: enough to place 2**32 slots


def entity_key(entity_type: str, entity_code: str) -> bytes:
    """The exact key of one entity ('bank', 'icbc'), ('branch', '广东')."""
    return _ENTITY_TYPES[entity_type] + entity_code.encode("gb18030")


class EntityKeys:
    """One period and KPI's entity keys, each with the row it was first seen on.

    `_records` holds a key after another: its length (1 byte: a branch name has at most 50
    characters, 200 bytes), its bytes, its first row. `_slots` is the table (linear
    probing): a slot holds its record's offset + 1 (0 is a free slot) above the key hash's
    last 32 bits, with which a probe passes another key without reading it and a doubled
    table places every key again.
    """

    __slots__ = ("_records", "_slots", "_count")

    def __init__(self) -> None:
        self._records = bytearray()
        self._slots = array("Q", bytes(8 * _FIRST_SLOTS))
        self._count = 0

    def first_row(self, key: bytes, row: int) -> int | None:
        records, slots, size = self._records, self._slots, len(key)
        mask = len(slots) - 1
        placed = hash(key) & _HASH_BITS
        slot = placed & mask
        while entry := slots[slot]:
            at = entry >> 32
            if entry & _HASH_BITS == placed and records[at - 1] == size:
                if records.startswith(key, at):
                    return int.from_bytes(records[at + size : at + size + _ROW_BYTES], "little")
            slot = (slot + 1) & mask
        slots[slot] = (len(records) + 1) << 32 | placed
        records.append(size)
        records += key
        records += row.to_bytes(_ROW_BYTES, "little")
        self._count += 1
        if self._count * 2 > mask:
            self._double()
        return None

    def _double(self) -> None:
        slots = array("Q", bytes(16 * len(self._slots)))
        mask = len(slots) - 1
        for entry in self._slots:
            if entry:
                slot = entry & mask
                while slots[slot]:
                    slot = (slot + 1) & mask
                slots[slot] = entry
        self._slots = slots


class Keys(dict):
    """(period, kpi_code) -> its `EntityKeys`, made when first asked for."""

    def __missing__(self, group: tuple[str, str]) -> EntityKeys:
        made = self[group] = EntityKeys()
        return made
