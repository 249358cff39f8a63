"""
### Strategy Briefs: the monthly run

Turns one month of line-of-business submissions into the executive PDF briefs.

1. **ingest**: validate every line of business's file for the month, stage each (one
   mapped task per line of business), then publish the whole month into `raw.lob_figures`
   in one transaction: the month is all new or exactly as it was, never half of each.
2. **warehouse**: dbt seeds, then staging, intermediate and marts for the month (one task
   per seed, one `dbt build` per layer: its models and their tests). A seed task builds
   its seed only when the warehouse does not hold that CSV yet (seeds change with a
   release, not with the month); a layer's retry builds only what the run has not built.
3. **briefs**: render the special edition and one brief per line of business as PDF.
4. **delivery**: the quality gate, an editor's approval (Required Actions), then email to
   the distribution lists, exactly once.

The reporting month is the month in which the run's data interval starts (Asia/Shanghai):
a run on the 5th of July reports June. Params: `dry_run` (render, never send),
`force_reissue` + `reissue_reason` (send a corrected edition, marked 更正版), `reissue_briefs`
(the briefs that re-issue re-sends; empty: every brief).

**When it fails**: open the failed task's log; its doc says what to do. Fix the input and
clear the failed task: a publish replaces its month whole, delivery sends only what was not
sent. A run that dies before `ingest.publish_month` commits leaves the month as it was.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import (
    Asset,
    AsyncCallback,
    DeadlineAlert,
    DeadlineReference,
    Param,
    dag,
    task,
    task_group,
)
from airflow.timetables.interval import CronDataIntervalTimetable

from strategy_briefs.config import Settings
from strategy_briefs.orchestration import cosmos_config, tasks
from strategy_briefs.orchestration.approval import EditorApproval
from strategy_briefs.orchestration.handoff import RenderedBrief, StagedFile
from strategy_briefs.orchestration.notify import (
    OperatorsNotifier,
    notify_delivery_deadline_missed,
)
from strategy_briefs.periods import BANK_TIMEZONE_NAME, Period

SETTINGS = Settings.from_env()
_FIRST = Period.parse(SETTINGS.first_month)
# Airflow serialises only pendulum time zones.
_BANK_TZ = pendulum.timezone(BANK_TIMEZONE_NAME)

# A try that runs longer than this is stopped (and retried): no input may hang a task.
INGEST_TIMEOUT = timedelta(minutes=SETTINGS.ingest_timeout_minutes)
RENDER_TIMEOUT = timedelta(minutes=SETTINGS.render_timeout_minutes)

PERIOD_XCOM = "{{ ti.xcom_pull(task_ids='resolve_period') }}"

# Lineage shown in the UI: files -> raw figures -> marts (cosmos_config) -> briefs.
RAW_FIGURES = Asset(name="raw_lob_figures", uri="warehouse://raw/lob_figures", group="warehouse")
BRIEFS = Asset(name="briefs_pdf", uri="briefs://monthly", group="briefs")


@dag(
    dag_id="strategy_briefs_monthly",
    schedule=CronDataIntervalTimetable(
        f"0 {SETTINGS.schedule_hour} {SETTINGS.schedule_day} * *", timezone=_BANK_TZ
    ),
    start_date=pendulum.datetime(
        _FIRST.year, _FIRST.month, SETTINGS.schedule_day, SETTINGS.schedule_hour, tz=_BANK_TZ
    ),
    catchup=True,
    max_active_runs=1,
    # The briefs are due a few days after the scheduled run; past that, tell the operators.
    deadline=DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(days=SETTINGS.delivery_deadline_days),
        callback=AsyncCallback(
            notify_delivery_deadline_missed,
            kwargs={"deadline_days": SETTINGS.delivery_deadline_days},
        ),
    ),
    doc_md=__doc__,
    tags=["strategy-briefs", "monthly", "executive-reporting"],
    default_args={
        "owner": "strategy-briefs",
        "retries": 2,
        "retry_delay": timedelta(seconds=SETTINGS.retry_delay_seconds),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
        # Once per task that fails for good (not per retry): one line to the operators.
        "on_failure_callback": OperatorsNotifier(),
    },
    params={
        "dry_run": Param(False, type="boolean", description="Render the briefs but send nothing."),
        "force_reissue": Param(
            False, type="boolean", description="Send a corrected edition (更正版) again."
        ),
        "reissue_reason": Param(
            "",
            type="string",
            description="Why the corrected edition is sent (required with force_reissue); "
            "printed as the 更正说明 on page 1.",
        ),
        "reissue_briefs": Param(
            [],
            type="array",
            items={"type": "string"},
            description="Brief ids the re-issue re-sends (special_edition or a line of "
            "business code, one per line); empty: every brief.",
        ),
    },
)
def strategy_briefs_monthly():
    @task
    def resolve_period(data_interval_start=None, data_interval_end=None) -> str:
        """Works out the reporting month from the run's data interval. Fails only if the
        DAG's timetable was changed to one without intervals."""
        return tasks.resolve_period(data_interval_start, data_interval_end)

    period = resolve_period()

    @task_group(group_id="ingest")
    def ingest(period: str):
        """Validate the month's submissions, stage each line of business, publish the month."""

        @task.sensor(
            mode="reschedule",
            execution_timeout=INGEST_TIMEOUT,
            poke_interval=timedelta(minutes=30),
            timeout=timedelta(hours=SETTINGS.submission_wait_hours),
        )
        def wait_for_submissions(period: str) -> bool:
            """Waits (rescheduling, holding no worker slot) until every line of business has
            put its file for the month under STRATEGY_BRIEFS_INCOMING/<YYYY-MM>/. The log
            names who is still missing. Times out after STRATEGY_BRIEFS_SUBMISSION_WAIT_HOURS:
            chase the department, then clear this task."""
            return not tasks.submissions_waiting(period)

        @task(execution_timeout=INGEST_TIMEOUT)
        def validate_submissions(period: str, run_id=None) -> list[str]:
            """Checks every file of the month and lists the lines of business to load. On
            failure the log lists each problem as FILE:ROW:COLUMN: message; send them to the
            department, put the corrected file in place and clear this task. It first checks
            that the warehouse schema is current (runs never migrate it): if the log says it
            is not, run `strategy-briefs warehouse migrate`, then clear this task."""
            return tasks.validate_month(period, run_id)

        @task(execution_timeout=INGEST_TIMEOUT)
        def load_submission(period: str, lob_code: str, run_id=None) -> StagedFile:
            """Stages one line of business's file for the month: validated and COPYed into
            the staging area under this run, in one transaction (a retry replaces the try
            before); raw.lob_figures is untouched until publish_month. A file the warehouse
            refused fails at once, without retries; raw.load_audit has the reason (status
            'rejected'): fix the cause, then clear the task."""
            return tasks.load_submission(period, lob_code, run_id)

        @task(outlets=[RAW_FIGURES], execution_timeout=INGEST_TIMEOUT)
        def publish_month(period: str, lob_codes: list[str], run_id=None) -> int:
            """Publishes the month: every line's staged rows replace the month's figures in
            raw.lob_figures, with the highlights, in one transaction, so the month is all new
            or as it was. Fails at once when a line is not staged by this run (clear its load
            task) or the warehouse refused a line (raw.load_audit, status 'rejected'); a
            warehouse that stopped answering is retried."""
            return tasks.publish_month(period, lob_codes, run_id)

        lob_codes = validate_submissions(period)
        wait_for_submissions(period) >> lob_codes
        # A mapped task does not take its function's docstring as its doc (Airflow 3.3 sets
        # it on a plain call only): hand it over.
        load_each = load_submission.override(doc_md=load_submission.function.__doc__)
        staged = load_each.partial(period=period).expand(lob_code=lob_codes)
        published = publish_month(period, lob_codes)
        staged >> published
        return published

    loaded = ingest(period)

    dbt_args = {
        **cosmos_config.operator_args,
        "vars": {"period": PERIOD_XCOM, "airflow_run_id": "{{ run_id }}"},
        "env": tasks.DBT_ENV_TEMPLATE,
    }
    warehouse = cosmos_config.warehouse_stage("warehouse", dbt_args)

    @task_group(group_id="briefs")
    def briefs(period: str):
        """Render the PDFs from the marts."""

        @task(
            inlets=[cosmos_config.BRIEF_FACTS, cosmos_config.KPI_VALUES],
            outlets=[BRIEFS],
            execution_timeout=RENDER_TIMEOUT,
        )
        def render_briefs(period: str, params=None) -> list[RenderedBrief]:
            """Renders the special edition and one brief per line of business from
            marts.brief_facts; on a re-issue the briefs named in reissue_briefs (all by
            default) print 更正版 and the reason. Fails on a missing glyph, an empty mart
            (check the warehouse tasks of this run), or a re-issue without a reason or with an
            unknown brief id (trigger the run again with corrected params)."""
            reason, reissued = tasks.reissue_params(dict(params or {}))
            return tasks.render_briefs(period, reason, reissued)

        return render_briefs(period)

    rendered = briefs(period)

    @task_group(group_id="delivery")
    def delivery(period: str, rendered: list[RenderedBrief]):
        """Check the month is fit to send, have an editor approve it, then email each brief
        exactly once."""

        @task
        def check_source_freshness(period: str, run_id=None) -> str:
            """Checks each line of business's newest successful load against the
            freshness rules dbt declares (warn_after, error_after in _raw__sources.yml), in
            one query, and records each source's status in audit.dbt_node_results for the
            gate. The log names each source and how old its newest load is. A warn lets the
            month through; an error fails this task: that department's file is very late.
            Chase the department, then clear this task."""
            return tasks.check_source_freshness(period, run_id)

        @task(retries=0)
        def quality_gate(period: str, rendered: list[RenderedBrief], run_id=None) -> str:
            """The quality gate: every line of business loaded, every dbt test and the
            freshness check of this run passed, the briefs rendered without warnings. When it
            fails nothing is sent and the operators get the reason in one line; fix the cause
            and clear the run from the first failed task."""
            return tasks.quality_gate(period, rendered, run_id)

        @task(inlets=[BRIEFS])
        def deliver_briefs(
            period: str, rendered: list[RenderedBrief], params=None, run_id=None
        ) -> str:
            """Sends the briefs to their distribution lists through `smtp_default`, recording
            each recipient in delivery.ledger before and after sending. A retry sends only to
            recipients not yet accepted; a recipient left 'unknown' (the task died mid-send)
            needs an operator decision, see docs/delivery.md. A re-issue opens a new edition
            of the briefs in reissue_briefs only (all by default); a brief not named whose PDF
            changed stops the send (EditionConflict): name it too. With dry_run nothing is
            sent."""
            return tasks.deliver_briefs(period, rendered, dict(params or {}), run_id)

        approval = EditorApproval(
            task_id="editor_approval",
            doc_md="An editor of STRATEGY_BRIEFS_EDITORS approves or rejects the rendered "
            "briefs in Required Actions (month, gate summary, lead sentences, PDF paths), with a "
            "comment. Rejected: nothing is sent and the operators get the comment; correct the "
            "month and run it again. Unanswered after STRATEGY_BRIEFS_APPROVAL_WAIT_MINUTES: it "
            "fails, the operators are told; clear it to ask again. Skipped with dry_run; "
            "recorded without asking with STRATEGY_BRIEFS_APPROVAL=auto (demo and tests only).",
        )
        freshness = check_source_freshness(period)
        gate = quality_gate(period, rendered)
        freshness >> gate >> approval >> deliver_briefs(period, rendered)
        return freshness

    loaded >> warehouse
    warehouse >> rendered
    warehouse >> delivery(period, rendered)


strategy_briefs_monthly()
