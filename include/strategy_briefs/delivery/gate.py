"""Quality gate: a month is sent only when its data and its briefs are known good.

Checks, all of them always evaluated so the operator sees every reason at once:
1. every required line of business has a successful load for the month (`raw.load_audit`);
2. dbt tests passed: dbt `run_results.json` files, or a plain {unique_id: status} mapping;
3. source freshness passed: dbt `sources.json` files, or a plain {unique_id: status} mapping;
4. the renderer reported no warnings.
A missing input fails the gate (fail closed): no evidence is not good evidence.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from strategy_briefs.periods import Period
from strategy_briefs.warehouse import WarehouseParams

# dbt statuses that block: tests fail|error, models error, anything skipped after an error.
_BLOCKING_TEST = {"fail", "error", "runtime error", "skipped"}
_BLOCKING_FRESHNESS = {"error", "runtime error"}

StatusInput = Path | str | Iterable[Path | str] | Mapping[str, str] | None


@dataclass(frozen=True)
class GateResult:
    ok: bool
    reasons: list[str] = field(default_factory=list)

    def one_line(self, period: str) -> str:
        if self.ok:
            return f"{period}: quality gate passed"
        return f"{period} not sent: " + "; ".join(self.reasons)


def _statuses(source: StatusInput, label: str) -> tuple[dict[str, str], list[str]]:
    """{unique_id: status} from dbt artifact paths or a mapping, plus problems reading them."""
    if source is None:
        return {}, [f"no {label} given"]
    if isinstance(source, Mapping):
        return {str(k): str(v).lower() for k, v in source.items()}, []
    paths = [source] if isinstance(source, str | Path) else list(source)
    statuses: dict[str, str] = {}
    problems = []
    for path in map(Path, paths):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            for result in document["results"]:
                statuses[result["unique_id"]] = str(result["status"]).lower()
        except FileNotFoundError:
            problems.append(f"{label} {path} not found")
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"{label} {path} unreadable ({exc.__class__.__name__}: {exc})")
    return statuses, problems


def _node_name(unique_id: str) -> str:
    """'test.project.not_null_x.1a2b' -> 'not_null_x'; 'source.p.raw.load_audit' -> 'load_audit'."""
    parts = unique_id.split(".")
    return parts[2] if parts[0] == "test" and len(parts) >= 4 else parts[-1]


def _brief_names(ids: list[str], limit: int = 3) -> str:
    shown = ", ".join(_node_name(i) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def check_gate(
    params: WarehouseParams,
    period: str,
    required_lobs: Iterable[str],
    rendered_warnings: list[str],
    *,
    dbt_results: StatusInput = None,
    freshness_results: StatusInput = None,
) -> GateResult:
    """Decide whether `period` may be sent; `reasons` are short, for a one-line notice."""
    from strategy_briefs import warehouse

    reasons: list[str] = []
    required = sorted(set(required_lobs))
    with warehouse.connect(params) as conn:
        loaded = {
            lob
            for (lob,) in conn.execute(
                "select distinct lob_code from raw.load_audit where period = %s "
                "and status = 'loaded' and submission = 'figures'",
                (Period.parse(period).first_day,),
            ).fetchall()
        }
    missing = [lob for lob in required if lob not in loaded]
    if missing:
        reasons.append(f"line(s) of business not loaded: {', '.join(missing)}")

    tests, problems = _statuses(dbt_results, "dbt test results")
    reasons += problems
    # A mapping is the caller's own list of test outcomes; files also hold model results.
    test_ids = (
        list(tests)
        if isinstance(dbt_results, Mapping)
        else [k for k in tests if k.startswith("test.")]
    )
    failed = sorted(k for k, status in tests.items() if status in _BLOCKING_TEST)
    if failed:
        reasons.append(f"dbt: {len(failed)} failed ({_brief_names(failed)})")
    elif not problems and not test_ids:
        reasons.append("dbt results hold no test results")

    freshness, problems = _statuses(freshness_results, "freshness results")
    reasons += problems
    stale = sorted(k for k, status in freshness.items() if status in _BLOCKING_FRESHNESS)
    if stale:
        reasons.append(f"freshness failed: {_brief_names(stale)}")

    if rendered_warnings:
        first = rendered_warnings[0].replace("\n", " ")[:120]
        more = f" (+{len(rendered_warnings) - 1} more)" if len(rendered_warnings) > 1 else ""
        reasons.append(f"render warnings: {first}{more}")
    return GateResult(ok=not reasons, reasons=reasons)
