"""Golden pages: the demo June edition and the mobile-banking brief, rendered from the
page's published figures (demo_facts.py) and the sample highlights, rasterised by
poppler's pdftoppm.

`python -m tests.helpers.golden` (or `make golden`) rewrites the reference PNGs in
tests/briefs/golden/ after an intended change to the templates; look at every page before
committing them. tests/briefs/test_brief_layout.py compares fresh renders with them.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from strategy_briefs.briefs.render import render_documents
from tests.helpers.demo_facts import PERIOD, demo_facts, demo_highlights, demo_history

GOLDEN_DIR = Path(__file__).parents[1] / "briefs" / "golden"
DPI = 40
DOCUMENTS = ("special_edition", "mobile_banking")  # brief ids with reference pages


@dataclass(frozen=True)
class Page:
    name: str  # 'special_edition-1.png'
    png: bytes


def render_pages(out_dir: Path) -> list[Page]:
    """Render the demo month and rasterise the golden documents' pages."""
    facts = demo_facts()
    rendered = render_documents(
        facts, demo_history(facts), PERIOD, out_dir, highlights=demo_highlights()
    )
    pages = []
    for brief in rendered:
        if brief.brief_id not in DOCUMENTS:
            continue
        prefix = out_dir / "png" / brief.brief_id
        prefix.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["pdftoppm", "-png", "-r", str(DPI), str(brief.path), str(prefix)], check=True
        )
        for path in sorted(prefix.parent.glob(f"{brief.brief_id}-*.png")):
            pages.append(
                Page(f"{brief.brief_id}-{int(path.stem.rsplit('-', 1)[1])}.png", path.read_bytes())
            )
    return pages


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        pages = render_pages(Path(tmp))
    GOLDEN_DIR.mkdir(exist_ok=True)
    for old in GOLDEN_DIR.glob("*.png"):
        old.unlink()
    for page in pages:
        (GOLDEN_DIR / page.name).write_bytes(page.png)
        print(GOLDEN_DIR / page.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
