"""What each DAG task does, as plain functions over the Airflow connections.

The DAG file only wires these together; each one turns Airflow's context (connections,
params) into the typed arguments of the `strategy_briefs` functions that do the work.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from strategy_briefs import periods, roles, schema_migrations, warehouse
from strategy_briefs.config import Settings
from strategy_briefs.orchestration.environment import SMTP_CONN_ID, WAREHOUSE_CONN_ID
from strategy_briefs.orchestration.handoff import RenderedBrief, StagedFile
from strategy_briefs.orchestration.reissue import reissue_briefs, reissue_reason
from strategy_briefs.warehouse import WarehouseParams

log = logging.getLogger(__name__)

# dbt's profiles.yml reads these; Airflow renders them from the warehouse connection when
# the task runs. dbt scrubs DBT_ENV_SECRET_* values from its logs.
DBT_ENV_TEMPLATE = {
    "WAREHOUSE_HOST": "{{ conn.warehouse_transformer.host }}",
    "WAREHOUSE_PORT": "{{ conn.warehouse_transformer.port }}",
    "WAREHOUSE_USER": "{{ conn.warehouse_transformer.login }}",
    "DBT_ENV_SECRET_WAREHOUSE_PASSWORD": "{{ conn.warehouse_transformer.password or '' }}",
    "WAREHOUSE_DBNAME": "{{ conn.warehouse_transformer.schema }}",
}
LOADER_CONN_ID = roles.CONN_IDS[roles.LOADER]
TRANSFORMER_CONN_ID = roles.CONN_IDS[roles.TRANSFORMER]
REPORTER_CONN_ID = roles.CONN_IDS[roles.REPORTER]


def warehouse_params(conn_id: str = WAREHOUSE_CONN_ID) -> WarehouseParams:
    """The warehouse as the Airflow connection describes it."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    return WarehouseParams(
        host=conn.host or "127.0.0.1",
        port=int(conn.port or 5432),
        user=conn.login or "postgres",
        password=conn.password or "",
        dbname=conn.schema or "postgres",
    )


def resolve_period(data_interval_start: datetime | None, data_interval_end: datetime | None) -> str:
    period = periods.reporting_period(data_interval_start, data_interval_end)
    log.info(
        "Reporting month %s (data interval %s .. %s)",
        period,
        data_interval_start,
        data_interval_end,
    )
    return str(period)


@contextmanager
def failing_at_once(*also: type[Exception]) -> Iterator[None]:
    """A bad file, a load the warehouse refused, a month not staged, a schema waiting for
    `strategy-briefs warehouse migrate`, or a task's own refusals (`also`) fail the same way
    on every retry: fail the task now (`AirflowFailException` skips the retries); the error
    names the reason."""
    from airflow.sdk.exceptions import AirflowFailException

    from strategy_briefs.ingest import MonthNotStaged, SubmissionInvalid

    try:
        yield
    except (SubmissionInvalid, MonthNotStaged, schema_migrations.SchemaNotCurrent, *also) as error:
        raise AirflowFailException(str(error)) from error


class WarehouseUnavailable(RuntimeError):
    """The warehouse stopped answering mid-task (stopped, restarted, the network): retried."""


@contextmanager
def warehouse_answering(params: WarehouseParams, doing: str) -> Iterator[None]:
    """psycopg's connection errors name neither the warehouse nor the step: say both in one
    line, and that a retry may succeed (this one is retried, not failed at once)."""
    import psycopg

    try:
        yield
    except psycopg.OperationalError as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise WarehouseUnavailable(
            f"the warehouse {params.host}:{params.port}/{params.dbname} stopped answering "
            f"while {doing}: {reason}. What the task had not committed was rolled back; "
            "it is retried"
        ) from error


def submissions_waiting(period: str) -> list[str]:
    """Lines of business whose file for `period` has not arrived yet (the sensor's poke)."""
    from strategy_briefs.catalogue import load_catalogue
    from strategy_briefs.ingest.loading import scan_month

    settings = Settings.from_env()
    folder = scan_month(settings.incoming_dir, period)
    present = set(folder.submissions) | folder.refused_stems  # a refusal is validate's to report
    waiting = sorted(set(load_catalogue(settings.seeds_dir).lines_of_business) - present)
    if waiting:
        log.info(
            "%s: still waiting for %s in %s", period, ", ".join(waiting), settings.incoming_dir
        )
    return waiting


def validate_month(period: str, run_id: str | None = None) -> list[str]:
    """Check the schema is current, validate every submission of the month; return the lines
    of business to load."""
    from strategy_briefs.catalogue import load_catalogue
    from strategy_briefs.ingest import check_month, reject_month
    from strategy_briefs.ingest.highlights import validate_month_highlights

    settings = Settings.from_env()
    with failing_at_once():  # runs never migrate: the operator does, once per release
        schema_migrations.require_current(warehouse_params(WAREHOUSE_CONN_ID))
    params = warehouse_params(LOADER_CONN_ID)
    catalogue = load_catalogue(settings.seeds_dir)
    submissions, problems = check_month(settings.incoming_dir, period, catalogue)
    problems += validate_month_highlights(
        params, settings.incoming_dir, period, catalogue, run_id=run_id
    )
    if problems:
        for problem in problems:
            log.error("%s", problem)
        with failing_at_once():
            reject_month(params, period, submissions, problems, catalogue, run_id=run_id)
    order = {code: lob.article_order for code, lob in catalogue.lines_of_business.items()}
    return sorted(submissions, key=order.__getitem__)


def load_submission(period: str, lob_code: str, run_id: str) -> StagedFile:
    """Stage one line of business's file under the run; `publish_month` moves the month."""
    from strategy_briefs.catalogue import load_catalogue
    from strategy_briefs.ingest import find_submissions, stage_submission

    settings = Settings.from_env()
    catalogue = load_catalogue(settings.seeds_dir)
    path = find_submissions(settings.incoming_dir, period)[lob_code]
    params = warehouse_params(LOADER_CONN_ID)
    with failing_at_once(), warehouse_answering(params, f"staging {lob_code} for {period}"):
        staged = stage_submission(
            params,
            path,
            period=period,
            lob_code=lob_code,
            catalogue=catalogue,
            run_key=run_id,
            run_id=run_id,
        )
    log.info("Staged %s for %s: %s rows from %s", lob_code, period, staged.row_count, path)
    return staged


def publish_month(period: str, lob_codes: list[str], run_id: str) -> int:
    """Swap the run's staged lines (and their highlights) into the month at once; returns
    the figures published."""
    from strategy_briefs.catalogue import load_catalogue
    from strategy_briefs.ingest import publish_month as publish

    settings = Settings.from_env()
    params = warehouse_params(LOADER_CONN_ID)
    with failing_at_once(), warehouse_answering(params, f"publishing {period}"):
        results = publish(
            params,
            period,
            list(lob_codes),
            run_key=run_id,
            catalogue=load_catalogue(settings.seeds_dir),
            incoming_dir=settings.incoming_dir,
            run_id=run_id,
        )
    for result in results:
        log.info(
            "Published %s for %s: %d rows (replaced %d)",
            result.lob_code,
            period,
            result.row_count,
            result.replaced_rows,
        )
    return sum(result.row_count for result in results)


def reissue_params(params: dict) -> tuple[str | None, frozenset[str] | None]:
    """(`reissue_reason`, `reissue_briefs`) for the render task. Bad params fail the task at
    once (`AirflowFailException` skips the retries): every retry would read the same params."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        return reissue_reason(params), reissue_briefs(params)
    except ValueError as error:
        raise AirflowFailException(f"bad re-issue params: {error}") from error


def render_briefs(
    period: str, correction_note: str | None = None, reissued: frozenset[str] | None = None
) -> list[RenderedBrief]:
    """Render the month; with a `correction_note`, the `reissued` briefs (None: all) print it."""
    from strategy_briefs.briefs.render import chart_cache, render_month
    from strategy_briefs.delivery.recipients import known_brief_ids

    settings = Settings.from_env()
    corrections = {}
    if correction_note is not None:
        corrections = dict.fromkeys(reissued or known_brief_ids(), correction_note)
    rendered = render_month(
        warehouse_params(REPORTER_CONN_ID),
        periods.Period.parse(period),  # the XCom's text, as dbt's vars take it too
        settings.output_dir,
        corrections=corrections,
        chart_cache=chart_cache(settings.var_dir),
    )
    for brief in rendered:
        log.info("Rendered %s: %s (%d pages)", brief.brief_id, brief.path, brief.page_count)
    return rendered


def check_source_freshness(period: str, run_id: str) -> str:
    """Every source's freshness from one query (the manifest's rules), recorded for the gate;
    raises `SourcesStale` naming each source in error. Returns the summary."""
    from strategy_briefs.orchestration import cosmos_config, freshness

    params = warehouse_params(TRANSFORMER_CONN_ID)
    rules = freshness.freshness_rules(cosmos_config.manifest_sources())
    with warehouse_answering(params, f"checking the sources' freshness for {period}"):
        with warehouse.connect(params) as conn:  # the query and the record, one transaction
            answers = freshness.check_freshness(conn, rules)
            freshness.record_freshness(conn, answers, period, run_id)
    levels = {freshness.PASS: logging.INFO, freshness.WARN: logging.WARNING}
    for answer in answers:
        log.log(levels.get(answer.status, logging.ERROR), "%s", freshness.described(answer))
    late = freshness.in_error(answers)
    if late:
        raise freshness.SourcesStale(
            "; ".join(freshness.described(answer) for answer in late)
            + ". A line of business's file is very late: chase the department"
        )
    counts = {status: sum(a.status == status for a in answers) for status in levels}
    return f"{period}: {len(answers)} sources checked, {counts[freshness.WARN]} late (warn)"


def node_results(params: WarehouseParams, run_id: str) -> dict[str, str]:
    """The latest dbt outcome of every node this DAG run built, tested or checked."""
    with warehouse.connect(params) as conn:
        exists = conn.execute("select to_regclass('audit.dbt_node_results')").fetchone()[0]
        if exists is None:
            return {}
        rows = conn.execute(
            "select distinct on (unique_id) unique_id, status from audit.dbt_node_results"
            " where airflow_run_id = %s order by unique_id, recorded_at desc",
            (run_id,),
        ).fetchall()
    return dict(rows)


def quality_gate(period: str, rendered: list[RenderedBrief], run_id: str) -> str:
    """Raise `GateClosed` unless the month is fit to send; returns the verdict."""
    from strategy_briefs.catalogue import load_catalogue
    from strategy_briefs.delivery import check_gate

    settings = Settings.from_env()
    params = warehouse_params(REPORTER_CONN_ID)
    catalogue = load_catalogue(settings.seeds_dir)
    required = [code for code, lob in catalogue.lines_of_business.items()]
    warnings = [w for r in rendered for w in r.warnings]
    results = node_results(params, run_id)
    result = check_gate(
        params,
        period,
        required,
        warnings,
        dbt_results={k: v for k, v in results.items() if not k.startswith("source.")},
        freshness_results={k: v for k, v in results.items() if k.startswith("source.")},
    )
    verdict = result.one_line(period)
    if not result.ok:
        raise GateClosed(verdict)
    log.info(verdict)
    return verdict


class GateClosed(RuntimeError):
    """The quality gate held the month back: nothing is sent."""


def deliver_briefs(period: str, rendered: list[RenderedBrief], params: dict, run_id: str) -> str:
    """Send the approved briefs (nothing with `dry_run`); returns the delivery's summary.

    A PDF that differs from the edition already sent fails at once (`failing_at_once`):
    every retry would offer the same PDF."""
    from strategy_briefs.delivery import AirflowSmtpSender, deliver, load_recipients
    from strategy_briefs.delivery.send import EditionConflict

    settings = Settings.from_env()
    if params.get("dry_run"):
        summary = f"dry_run: {len(rendered)} briefs rendered, nothing sent"
        log.info(summary)
        return summary
    approval = approved_for_sending(period, rendered, run_id)
    with AirflowSmtpSender(SMTP_CONN_ID) as sender, failing_at_once(EditionConflict):
        report = deliver(
            warehouse_params(REPORTER_CONN_ID),
            period,
            rendered,
            load_recipients(settings.recipients_file),
            sender,
            archive_root=settings.output_dir / "archive",
            force_reissue_reason=reissue_reason(params),
            reissue_brief_ids=reissue_briefs(params),
            approval=approval,
        )
    log.info("%s; manifest %s", report.summary(), report.manifest_path)
    return report.summary()


def approved_for_sending(period: str, rendered: list[RenderedBrief], run_id: str):
    """This run's approval of exactly these PDFs; otherwise fail at once, sending nothing."""
    from airflow.sdk.exceptions import AirflowFailException

    from strategy_briefs.delivery.approval import NotApproved, approval_for_run, require_approval

    approval = approval_for_run(warehouse_params(REPORTER_CONN_ID), run_id)
    try:
        return require_approval(approval, period, {r.brief_id: r.sha256 for r in rendered})
    except NotApproved as refused:
        raise AirflowFailException(str(refused)) from refused


def built_seed_checksum(unique_id: str) -> str | None:
    """dbt's checksum of the seed's CSV as its latest successful build in the warehouse saw it."""
    with warehouse.connect(warehouse_params(REPORTER_CONN_ID)) as conn:
        row = conn.execute(
            "select seed_checksum from audit.dbt_node_results"
            " where unique_id = %s and status = 'success' and seed_checksum is not null"
            " order by recorded_at desc limit 1",
            (unique_id,),
        ).fetchone()
    return row[0] if row else None


def built_by_run(period: str, run_id: str) -> set[str]:
    """The dbt nodes this DAG run built (or whose tests passed) from the month's current
    figures: recorded since the month was last published and since any seed last changed.
    A node recorded before either was built from other inputs and is built again."""
    with warehouse.connect(warehouse_params(REPORTER_CONN_ID)) as conn:
        rows = conn.execute(
            "select distinct unique_id from audit.dbt_node_results r"
            " where airflow_run_id = %s and status in ('success', 'pass')"
            " and resource_type in ('model', 'test')"
            " and recorded_at > (select coalesce(max(loaded_at), '-infinity') from raw.load_audit"
            "                    where period = %s and status = 'loaded')"
            " and recorded_at > (select coalesce(max(recorded_at), '-infinity')"
            "                    from audit.dbt_node_results"
            "                    where resource_type = 'seed' and status = 'success')",
            (run_id, periods.Period.parse(period).first_day),
        ).fetchall()
    return {unique_id for (unique_id,) in rows}
