"""The re-issue params of a run, as the DAG's tasks and `strategy-briefs run` check them.

Airflow-free, so that the command checks them before it has exported the project's
Airflow environment (Airflow reads its home and DAG folder when first imported: an import
here made a plain shell's `strategy-briefs run` run against ~/airflow).

Rules (one function each):
- reason: only a re-issue (`force_reissue`) has one, checked as the PDFs print it
- briefs: the brief ids named (a list, or one comma-separated text), each known; naming
  any needs `force_reissue`; none named is every brief (None)
"""

from __future__ import annotations


def reissue_reason(params: dict) -> str | None:
    """The reason of a re-issue (`force_reissue`), as the PDFs print it; None otherwise."""
    from strategy_briefs.briefs.context import checked_correction_note

    if not params.get("force_reissue"):
        return None
    return checked_correction_note(params.get("reissue_reason") or "")


def reissue_briefs(params: dict) -> frozenset[str] | None:
    """The briefs a re-issue re-sends (`reissue_briefs`); None, the default, is every brief."""
    from strategy_briefs.delivery.recipients import known_brief_ids

    named = params.get("reissue_briefs") or []
    if isinstance(named, str):  # a run triggered with conf {"reissue_briefs": "a,b"}
        named = named.split(",")
    named = {brief.strip() for brief in named if brief.strip()}
    if named and not params.get("force_reissue"):
        raise ValueError("reissue_briefs names briefs to re-issue: it needs force_reissue")
    known = known_brief_ids()
    unknown = sorted(named - known)
    if unknown:
        raise ValueError(
            f"unknown brief id {', '.join(unknown)} in reissue_briefs (known: {', '.join(sorted(known))})"
        )
    return frozenset(named) or None
