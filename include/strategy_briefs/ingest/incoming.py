"""The incoming folder: which entries may be read, and how names and cells are shown.

Rules (docs/submission-contract.md §1):
1. A symbolic link is refused without being read (nor is its target named).
2. An entry that resolves outside the incoming folder is refused without being read.
3. Anything but a regular file (a FIFO, a device, a folder named `x.csv`) is refused.
4. A file name with control characters (a newline forges a log line) is refused.
5. Names and quoted cells are printed with control characters escaped (`\\n`, `\\x1b`),
   and a quote from a file is cut to `EXCERPT_CHARS` characters.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path

EXCERPT_CHARS = 60  # the most of a file's text a problem message quotes
_UNPRINTABLE = frozenset(("Cc", "Cf", "Zl", "Zp"))  # control, format, line/paragraph sep


def _unprintable(char: str) -> bool:
    return unicodedata.category(char) in _UNPRINTABLE


def has_control_characters(text: str) -> bool:
    return any(map(_unprintable, text))


def escaped(text: str) -> str:
    """`text` with every control or format character escaped, so it prints on one line."""
    if not has_control_characters(text):
        return text
    return "".join(
        char.encode("unicode_escape").decode("ascii") if _unprintable(char) else char
        for char in text
    )


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A quote from a file: escaped and at most `limit` characters (then '…')."""
    text = escaped(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def refusal(path: Path, root: Path | None = None) -> str | None:
    """Why `path` must not be read (rules 1-4), or None. Nothing of the file is opened."""
    if has_control_characters(path.name):
        return "the file name has control characters: rename the file"
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None  # reported as 'no such file' by whoever opens it
    if stat.S_ISLNK(mode):
        return "is a symbolic link: links are not followed; put the file itself in the folder"
    if root is not None and not path.resolve().is_relative_to(Path(root).resolve()):
        return "resolves outside the incoming folder (STRATEGY_BRIEFS_INCOMING): not read"
    if not stat.S_ISREG(mode):
        return "is not a regular file: not read"
    return None
