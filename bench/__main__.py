"""Run every benchmark: `python -m bench [name ...]` (`backfill` or `bench_backfill`)."""

from __future__ import annotations

import importlib
import sys

from bench.harness import ROOT, record, write_table

BENCHMARKS = [
    "bench_dag_parse",
    "bench_load",
    "bench_validate_memory",
    "bench_month_stages",
    "bench_warehouse_modes",
    "bench_render",
    "bench_backfill",
    "bench_month36",
]


def main(argv: list[str]) -> int:
    names = [name if name.startswith("bench_") else f"bench_{name}" for name in argv]
    results = []
    for name in names or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        print(f"running {name} ...", flush=True)
        outcome = module.run()
        for result in outcome if isinstance(outcome, list) else [outcome]:
            results.append(result)
            _print(result)
    write_table(record(results), ROOT / "docs" / "benchmarks.md")
    print(f"wrote {ROOT / 'docs' / 'benchmarks.md'}")
    return 0


def _print(result) -> None:
    print(
        f"  {result.name}: {result.candidate_value:.3g} {result.unit} vs baseline "
        f"{result.baseline_value:.3g} {result.unit} -> ratio {result.ratio:.2f} "
        f"(target {result.target}: {'met' if result.passed else 'NOT met'})",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
