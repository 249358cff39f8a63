"""The benchmark harness: run each benchmark, print ratios, write docs/benchmarks.md.

A benchmark measures a candidate and a baseline in the same run, on the same machine, so
the ratio means something on a shared, noisy machine where absolute seconds do not.
"""

from __future__ import annotations

import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Result:
    name: str
    candidate: str
    baseline: str
    candidate_value: float
    baseline_value: float
    unit: str
    ratio: float
    target: str
    passed: bool
    notes: str = ""
    # markdown lines printed under the table (e.g. a per-stage breakdown)
    details: tuple[str, ...] | list[str] = ()


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run_python(code: str, *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> None:
    import os
    import sys

    subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={**os.environ, **(env or {})},
    )


def write_table(results: Sequence[Result], path: Path) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench`. Each row is a ratio against a baseline measured in the same",
        "run on the same machine; absolute times are shown for context only. The machine is",
        "a 2-core one shared with other engineers' builds and tests: absolute seconds are",
        "noisy, the same-run ratios much less so.",
        "",
        f"Last run: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {platform.machine()},"
        f" Python {platform.python_version()}.",
        "",
        "| benchmark | candidate | baseline | candidate | baseline | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.candidate} | {r.baseline} | {r.candidate_value:.3g} {r.unit}"
            f" | {r.baseline_value:.3g} {r.unit} | {r.ratio:.2f} | {r.target} | {'yes' if r.passed else 'NO'} |"
        )
    notes = [f"- **{r.name}**: {r.notes}" for r in results if r.notes]
    if notes:
        lines += ["", "Notes:", "", *notes]
    for r in results:
        if r.details:
            lines += ["", f"## {r.name}: breakdown", "", *r.details]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
