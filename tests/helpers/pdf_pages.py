"""Reading real PDFs back page by page (poppler's pdftotext), shared by the brief and e2e tests."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

CORRECTION_MARK = "更正版"  # the masthead's mark on page 1, the running header's on the others


def page_texts(pdf: Path) -> list[str]:
    """One whitespace-free string per page, the columns read in order (-raw)."""
    out = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, check=True)
    pages = out.stdout.decode("utf-8").split("\f")
    return [re.sub(r"\s+", "", page) for page in pages if page.strip()]


def correction_marks(page_count: int, reason: str) -> list[list[str]]:
    """What a re-issue adds to each page: 更正版 and the 更正说明 on page 1, 更正版 after."""
    note = "更正说明：" + re.sub(r"\s+", "", reason)
    return [[CORRECTION_MARK, note]] + [[CORRECTION_MARK]] * (page_count - 1)


def unmarked_differences(
    before: Sequence[str], after: Sequence[str], marks: Sequence[Sequence[str]]
) -> list[str]:
    """Every way `after` differs from `before` other than by adding each page's marks once."""
    if len(before) != len(after):
        return [f"{len(before)} pages before, {len(after)} after"]
    problems = []
    for number, (old, new, added) in enumerate(zip(before, after, marks, strict=True), start=1):
        for mark in added:
            if mark not in new:
                problems.append(f"page {number}: {mark!r} is missing")
            new = new.replace(mark, "", 1)
        if new != old:
            problems.append(f"page {number}: the text differs beyond the marks")
    return problems
