"""A month's ingest as the DAG runs it, in a process of its own that a test can SIGKILL.

    python month_run.py WAREHOUSE_URL INCOMING PERIOD RUN_KEY {stage,publish,all}

`stage` stages every line of business in article order, each in its own transaction as
the mapped load tasks do; `publish` publishes the month the run staged; `all` does both.
Nothing here stands in for product code: it only calls the functions the tasks call.
"""

from __future__ import annotations

import sys
from pathlib import Path

from strategy_briefs.catalogue import load_catalogue
from strategy_briefs.config import PROJECT_ROOT
from strategy_briefs.ingest import find_submissions, publish_month, stage_submission
from strategy_briefs.warehouse import parse_url


def main(url: str, incoming: str, period: str, run_key: str, what: str) -> None:
    params = parse_url(url)
    catalogue = load_catalogue(PROJECT_ROOT / "dbt_project" / "seeds")
    lobs = sorted(catalogue.lines_of_business.values(), key=lambda lob: lob.article_order)
    codes = [lob.lob_code for lob in lobs]
    if what in ("stage", "all"):
        files = find_submissions(Path(incoming), period)
        for code in codes:
            stage_submission(
                params,
                files[code],
                period=period,
                lob_code=code,
                catalogue=catalogue,
                run_key=run_key,
                run_id=run_key,
            )
    if what in ("publish", "all"):
        publish_month(
            params,
            period,
            codes,
            run_key=run_key,
            catalogue=catalogue,
            incoming_dir=Path(incoming),
            run_id=run_key,
        )


if __name__ == "__main__":
    main(*sys.argv[1:6])
