"""A month's delivery as the DAG's send task runs it, in a process of its own that a test can
SIGKILL.

    python delivery_run.py WAREHOUSE_URL PERIOD BRIEFS_JSON RECIPIENTS_FILE ARCHIVE_ROOT

BRIEFS_JSON holds the rendered briefs in the form the render task hands them on
(`RenderedBrief.serialize`); the mail server is `AIRFLOW_CONN_SMTP_DEFAULT`. Nothing here
stands in for product code: it only calls what `tasks.deliver_briefs` calls.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from strategy_briefs.briefs.rendered import RenderedBrief
from strategy_briefs.delivery import AirflowSmtpSender, deliver, load_recipients
from strategy_briefs.warehouse import parse_url


def main(url: str, period: str, briefs_json: str, recipients_file: str, archive_root: str):
    document = json.loads(Path(briefs_json).read_text(encoding="utf-8"))
    briefs = [RenderedBrief.deserialize(data, RenderedBrief.__version__) for data in document]
    recipients = load_recipients(Path(recipients_file), brief_ids={b.brief_id for b in briefs})
    with AirflowSmtpSender() as sender:
        deliver(parse_url(url), period, briefs, recipients, sender, archive_root=Path(archive_root))


if __name__ == "__main__":
    main(*sys.argv[1:6])
