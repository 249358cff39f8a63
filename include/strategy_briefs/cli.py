"""`strategy-briefs`: the command line for operators and newcomers.

Every subcommand finds (or starts) the warehouse itself, so none depends on another
having run first in the same shell. Errors print one line and exit non-zero: 1 the month
is held (validation, the quality gate or the editor stopped it), 2 usage, 3 the run failed.
`run` and `demo` show their progress (`strategy_briefs.progress`) and write Airflow's and
dbt's logs to var/logs/.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import shlex
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from strategy_briefs import long_lived, periods, progress, roles, schema_migrations, warehouse
from strategy_briefs.config import Settings, venv_executable

DAG_ID = "strategy_briefs_monthly"
DEMO_MONTHS = ("2020-06", "2020-07")
# A month that fails only in these tasks is held (its input or an editor stopped it), exit 1.
HOLDING_TASKS = frozenset(
    {
        "ingest.wait_for_submissions",
        "ingest.validate_submissions",
        "delivery.quality_gate",
        "delivery.editor_approval",
    }
)
EXIT_CODES = """exit codes:
  0  done
  1  the month is held: validation, the quality gate or the editor stopped it; nothing sent
  2  usage: a bad argument or setting
  3  the run failed (a task, dbt, Airflow or the warehouse); the error names the log"""


class CliError(Exception):
    """An error the user can act on; printed as one line. Exit 2: usage."""

    exit_code = 2


class RunHeld(CliError):
    """The month was held by validation, the quality gate or the editor; nothing was sent."""

    exit_code = 1


class RunFailed(CliError):
    """The run failed: a task, dbt, Airflow or the warehouse."""

    exit_code = 3


# ---------------------------------------------------------------- helpers


def _prepare(
    settings: Settings, *, for_shell: bool = False, migrate: bool = False
) -> dict[str, str]:
    """Warehouse up and its schema current, dbt manifest built, Airflow env exported into
    this process.

    Without a user-given `AIRFLOW_CONN_SMTP_DEFAULT`, runs deliver to a loopback sink that
    `run_month` starts; `for_shell` (the `env` command) names the sink `make airflow` starts.
    """
    from strategy_briefs.orchestration.environment import airflow_environment

    params = warehouse.resolve(settings)
    _current_schema(settings, params, migrate=migrate)
    roles.set_passwords(params, roles.passwords_from(os.environ))
    user_smtp = os.environ.get("AIRFLOW_CONN_SMTP_DEFAULT")
    env = airflow_environment(settings, params, smtp_connection=user_smtp)
    if not user_smtp and not for_shell:
        env.pop("AIRFLOW_CONN_SMTP_DEFAULT")
    os.environ.update(env)
    build_manifest(settings)
    return env


def _current_schema(
    settings: Settings, params: warehouse.WarehouseParams, *, migrate: bool = False
) -> None:
    """The embedded warehouse is this checkout's own: migrated on the way. An external one
    (`WAREHOUSE_URL`) changes schema only through `strategy-briefs warehouse migrate` (or
    `demo`, `migrate=True`): here it is only checked."""
    try:
        if migrate or not settings.warehouse_url:
            warehouse.migrate(params)
        else:
            schema_migrations.require_current(params)
    except schema_migrations.MigrationError as not_current:
        raise CliError(str(not_current)) from None


def is_current(settings: Settings, artifact: Path) -> bool:
    """`artifact` exists and is newer than every file of the dbt project."""
    if not artifact.exists():
        return False
    sources = [
        p
        for p in settings.dbt_project_dir.rglob("*")
        if p.suffix in {".sql", ".yml", ".csv"} and "target" not in p.parts
    ]
    newest = max((p.stat().st_mtime for p in sources), default=0)
    return artifact.stat().st_mtime >= newest


def build_manifest(settings: Settings, *, force: bool = False) -> Path:
    """`dbt parse` so Cosmos reads the manifest instead of running `dbt ls` at parse time."""
    manifest = settings.dbt_manifest_path
    if not force and is_current(settings, manifest):
        return manifest
    from strategy_briefs.dbt_command import DbtFailed, run_dbt

    try:
        run_dbt(
            settings.dbt_project_dir,
            "parse",
            "--quiet",
            env=_offline_profile(),
            target_path=manifest.parent,
        )
    except DbtFailed as failed:
        raise RunFailed(str(failed)) from None
    return manifest


def _offline_profile() -> dict[str, str]:
    """Values the dbt profile needs to resolve when dbt connects to nothing."""
    placeholders = {
        "WAREHOUSE_HOST": "localhost",
        "WAREHOUSE_PORT": "5432",
        "WAREHOUSE_USER": "postgres",
        "WAREHOUSE_DBNAME": "postgres",
    }
    return {k: os.environ.get(k, v) for k, v in placeholders.items()}


def build_docs(settings: Settings, *, empty_catalog: bool = False) -> Path:
    """`dbt docs generate` into the folder Cosmos serves in the Airflow UI; returns index.html.

    The models, their columns and descriptions come from the manifest `build_manifest` left
    in that folder (`--no-compile`: the manifest Cosmos reads stays the parsed one). Against
    the warehouse the catalog adds what it holds (column types, row counts);
    `empty_catalog` connects to nothing (set-up without a warehouse, the image build).
    """
    from strategy_briefs.dbt_command import DbtFailed, run_dbt

    if empty_catalog:
        build_manifest(settings)
        args, env = ("--empty-catalog",), _offline_profile()
    else:
        _prepare(settings)  # the warehouse up, dbt's login (the transformer) in the env
        args, env = (), {}
    try:
        run_dbt(
            settings.dbt_project_dir,
            "docs",
            "generate",
            "--quiet",
            "--no-compile",
            *args,
            env=env,
            target_path=settings.dbt_docs_dir,
        )
    except DbtFailed as failed:
        raise CliError(str(failed)) from None
    return settings.dbt_docs_dir / "index.html"


AIRFLOW_DB = "airflow.db"
AIRFLOW_DB_VERSION = "airflow.db.version"  # beside it: the Airflow that last migrated it


def installed_airflow_version() -> str:
    from importlib.metadata import version

    return version("apache-airflow")


def airflow_db_migrate_reason(airflow_home: Path, installed: str) -> str | None:
    """Why Airflow's metadata database must be migrated before a run, or None: missing, or
    last migrated by another Airflow (an upgrade changes its schema), or by nobody we know
    (a database from before the version was recorded)."""
    if not (airflow_home / AIRFLOW_DB).exists():
        return "no metadata database yet"
    recorded_file = airflow_home / AIRFLOW_DB_VERSION
    if not recorded_file.exists():
        return "the Airflow version that migrated it was not recorded"
    recorded = recorded_file.read_text(encoding="utf-8").strip()
    if recorded != installed:
        return f"migrated by Airflow {recorded}, Airflow {installed} is installed"
    return None


def migrate_airflow_db(airflow_home: Path) -> None:
    """`airflow db migrate`, then the installed version recorded beside the database."""
    airflow_home.mkdir(parents=True, exist_ok=True)
    airflow = venv_executable("airflow")
    env = {**os.environ, "AIRFLOW_HOME": str(airflow_home)}
    result = subprocess.run(
        [str(airflow), "db", "migrate"], capture_output=True, text=True, env=env
    )
    if result.returncode != 0:
        raise RunFailed("airflow db migrate failed: " + result.stderr.strip().splitlines()[-1])
    (airflow_home / AIRFLOW_DB_VERSION).write_text(installed_airflow_version() + "\n")


def _ensure_airflow_db(settings: Settings) -> None:
    reason = airflow_db_migrate_reason(settings.airflow_home, installed_airflow_version())
    if reason is not None:
        print(f"airflow db migrate: {reason}", file=sys.stderr)
        migrate_airflow_db(settings.airflow_home)


def run_month(
    settings: Settings,
    period: periods.Period,
    *,
    conf: dict | None = None,
    screen: progress.Screen | None = None,
) -> list[Path]:
    """Run the monthly DAG for `period` through Airflow's own `dag.test()`, showing its
    tasks on `screen` while Airflow's and dbt's output goes to var/logs/<period>-<run>.log."""
    first = periods.Period.parse(settings.first_month)
    if period < first:
        # The DAG starts at the first month: Airflow would "succeed" a run before it
        # without running a single task.
        raise CliError(
            f"{period} is before STRATEGY_BRIEFS_FIRST_MONTH={first}; set it to {period} or earlier"
        )
    screen = screen or progress.Screen()
    log = progress.log_path(settings.var_dir, str(period), progress.run_stamp())
    with screen.captured(log):
        with long_lived.setting_up():  # the imports and the DAG live to the end of the run
            _prepare(settings)
            dag = _load_dag(settings)
        run = _test_run(settings, dag, period, conf or {}, screen, log)
    _refuse_if_rejected(settings, period, run)
    out = settings.output_dir / str(period)
    return sorted(out.glob("*.pdf"))


def _configure_airflow_models() -> None:
    """Import and configure Airflow's ORM models in this thread, before the watchers start.

    The progress display and the approval watch query the metadata DB from threads of their
    own while `dag.test()` runs; left lazy, a watcher's first query and `dag.test()` can each
    hold one of the import lock and SQLAlchemy's mapper-configure lock and wait for the
    other (seen once: an e2e dry run hung for 30 minutes)."""
    from airflow.models import import_all_models
    from sqlalchemy.orm import configure_mappers

    import_all_models()
    configure_mappers()


def _load_dag(settings: Settings):
    _ensure_airflow_db(settings)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(settings.project_root / "dags"))
    if bag.import_errors:
        first = next(iter(bag.import_errors.items()))
        raise RunFailed(f"DAG import error in {first[0]}: {first[1].strip().splitlines()[-1]}")
    dag = bag.dags[DAG_ID]
    # Airflow 3.3.2's dag.test() keeps deadline alerts in their serialised (dict) form and
    # then fails looking them up by id when the run ends. A test run is never queued, so
    # its queued-at deadline cannot fire anyway (Airflow logs "skipping deadline alert").
    dag.deadline = None
    return dag


def _test_run(settings: Settings, dag, period, conf: dict, screen: progress.Screen, log: Path):
    """`dag.test()` for the month beside its display; raises unless the run succeeded."""
    from datetime import UTC, datetime

    own_sink = "AIRFLOW_CONN_SMTP_DEFAULT" not in os.environ
    logical_date = periods.run_time_for(
        period, day=settings.schedule_day, hour=settings.schedule_hour
    )
    since = datetime.now(UTC)
    task_ids = [t.task_id for t in dag.topological_sort()]
    shown = progress.MonthProgress(
        screen, period, task_ids, log, lambda: progress.run_rows(DAG_ID, logical_date, since)
    )
    with contextlib.ExitStack() as stack:
        if own_sink:  # the demo's mailbox: a loopback SMTP server writing .eml files
            sink = stack.enter_context(_demo_sink(settings))
            os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = sink.airflow_conn_json()
            stack.callback(os.environ.pop, "AIRFLOW_CONN_SMTP_DEFAULT", None)
        _configure_airflow_models()
        stack.enter_context(shown)
        if settings.approval_policy == "required" and not conf.get("dry_run"):
            from strategy_briefs.orchestration.approval_wait import ApprovalWatch

            watch = ApprovalWatch(DAG_ID, logical_date, out=screen.writer())
            watch.start()
            stack.callback(watch.stop)
        run = dag.test(logical_date=logical_date, run_conf=conf)
        tis = run.get_task_instances() if run else []
        shown.finish(progress.instance_rows(tis), str(getattr(run, "state", "no run")))
    if run is None or str(run.state) != "success":
        failed = [ti.task_id for ti in tis if str(ti.state) == "failed"]  # not upstream_failed
        error = RunHeld if failed and set(failed) <= HOLDING_TASKS else RunFailed
        raise error(
            f"run for {period} ended {getattr(run, 'state', 'without a run')}; failed tasks: "
            + (_failure_reasons(settings, run.run_id, failed) if run else "none")
            + f"; log: {progress.shown_path(log)}"
        )
    return run


def _demo_sink(settings: Settings):
    """The demo's loopback SMTP sink, for a run no mail server was configured for. It lives
    in the demo package (demo/), which a checkout's set-up installs and the image never
    holds: there the run needs `AIRFLOW_CONN_SMTP_DEFAULT`."""
    try:
        from strategy_briefs_demo.sink import run_sink
    except ImportError:
        raise CliError(
            "AIRFLOW_CONN_SMTP_DEFAULT is not set and the demo's local mail sink is not"
            " installed here (a checkout's `make setup` installs it): set"
            " AIRFLOW_CONN_SMTP_DEFAULT to the mail server"
        ) from None
    return run_sink("127.0.0.1", 0, settings.mail_sink_dir)


def _refuse_if_rejected(settings: Settings, period: periods.Period, run) -> None:
    """A rejected month ends the run "successfully" in Airflow (the send is skipped); here it
    is an error naming who rejected it and why."""
    from strategy_briefs.delivery.approval import approval_for_run

    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    if states.get("delivery.editor_approval") != "success":
        return
    if states.get("delivery.deliver_briefs") != "skipped":
        return
    approval = approval_for_run(warehouse.resolve(settings), run.run_id)
    if approval is not None and not approval.approved:
        raise RunHeld(
            f"{period} rejected by {approval.decided_by}: {approval.comment or '(no comment)'};"
            " nothing sent. Correct the month and run it again"
        )


def _failure_reasons(settings: Settings, run_id: str, failed: list[str]) -> str:
    """'task (reason), …' from the operator notices the failure callback recorded: the
    same reason the operators were sent, even when the mail server is what failed."""
    with warehouse.connect(warehouse.resolve(settings)) as conn:
        rows = conn.execute(
            "select task_id, reason from audit.operator_notices where run_id = %s"
            " order by notice_id",
            (run_id,),
        ).fetchall()
    reasons = {task_id: reason for task_id, reason in rows}
    named = [f"{task} ({reasons.get(task, 'no reason recorded')})" for task in failed]
    return "; ".join(named) or "none"


# ---------------------------------------------------------------- subcommands


def run_conf(args: argparse.Namespace) -> dict:
    """The DAG params of `run`, checked by the tasks' own rules before anything runs."""
    from strategy_briefs.orchestration.reissue import reissue_briefs, reissue_reason

    conf: dict = {"dry_run": args.dry_run}
    if args.force_reissue is not None:
        conf.update(force_reissue=True, reissue_reason=args.force_reissue)
    if args.reissue_brief is not None:
        if args.force_reissue is None:
            raise CliError("--reissue-brief names the briefs of a re-issue: give --force-reissue")
        conf["reissue_briefs"] = [b.strip() for b in args.reissue_brief.split(",")]
        if not any(conf["reissue_briefs"]):
            raise CliError("--reissue-brief names no brief")
    reissue_reason(conf)
    reissue_briefs(conf)
    return conf


def cmd_run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    period = periods.Period.parse(args.period)
    conf = run_conf(args)
    for path in run_month(settings, period, conf=conf):
        print(path)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from strategy_briefs.catalogue import load_catalogue
    from strategy_briefs.ingest import validate_paths
    from strategy_briefs.ingest.incoming import escaped

    settings = Settings.from_env()
    missing = [p for p in args.files if not os.path.lexists(p)]  # a dangling link is refused
    if missing:
        raise CliError(f"no such file: {escaped(missing[0])}")
    problems = validate_paths([Path(p) for p in args.files], load_catalogue(settings.seeds_dir))
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{len(args.files)} file(s) valid", file=sys.stderr)
    return 1 if problems else 0


def cmd_render(args: argparse.Namespace) -> int:
    from strategy_briefs.briefs.render import chart_cache, render_month, write_png_pages

    settings = Settings.from_env()
    reporter = _reporter_params(settings)
    period = periods.Period.parse(args.period)
    rendered = render_month(
        reporter, period, Path(args.out), chart_cache=chart_cache(settings.var_dir)
    )
    for brief in rendered:
        print(brief.path)
        if args.png:
            for page in write_png_pages(brief.path, brief.path.parent / "png", dpi=args.png_dpi):
                print(page)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Render the month again and compare with the archived PDFs; exit 1 on any difference."""
    from strategy_briefs.delivery.verify import verify_month

    settings = Settings.from_env()
    reporter = _reporter_params(settings)
    period = periods.Period.parse(args.period)
    verification = verify_month(reporter, period, settings.output_dir / "archive")
    for check in verification.checks:
        print(check.line())
    differing = [c.archived.brief_id for c in verification.checks if not c.identical]
    if differing:
        print(
            f"{period}: {len(differing)} brief(s) differ: {', '.join(differing)}", file=sys.stderr
        )
        return 1
    print(f"{period}: all {len(verification.checks)} archived brief(s) verified", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Load the bundled history, build the warehouse, run the demo months through the DAG."""
    # The demo never waits for a person; its approvals are recorded as automatic.
    os.environ["STRATEGY_BRIEFS_APPROVAL"] = "auto"
    settings = Settings.from_env()
    screen = progress.Screen()
    _demo_history(settings, screen)
    folders = []
    for month in DEMO_MONTHS:
        pdfs = run_month(settings, periods.Period.parse(month), screen=screen)
        folders.append(f"{pdfs[0].parent}/ ({len(pdfs)} PDFs)" if pdfs else f"{month}: none")
    print("PDF briefs written:", *folders, sep="\n  ")
    print(f"Emails (the local SMTP sink): {settings.mail_sink_dir}")
    return 0


def _demo_history(settings: Settings, screen: progress.Screen) -> None:
    """The sample months before the demo's first, loaded and built (not through the DAG)."""
    from strategy_briefs.dbt_command import DbtFailed
    from strategy_briefs.orchestration.history import load_history

    log = progress.log_path(settings.var_dir, "history", progress.run_stamp())
    with progress.HistoryProgress(screen, log) as shown, screen.captured(log):
        _prepare(settings, migrate=True)  # the demo sets its warehouse up, external or not
        try:
            loaded = load_history(
                settings, before=periods.Period.parse(DEMO_MONTHS[0]), progress=shown
            )
        except DbtFailed as failed:
            raise RunFailed(
                f"{str(failed).splitlines()[0]}; log: {progress.shown_path(log)}"
            ) from None
    shown.finished(loaded)


def cmd_env(args: argparse.Namespace) -> int:
    """Print `export` lines for running Airflow by hand against this project."""
    env = _prepare(Settings.from_env(), for_shell=True)
    for key, value in sorted(env.items()):
        print(f"export {key}={shlex.quote(value)}")
    return 0


def cmd_warehouse(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.action == "stop":
        if settings.warehouse_url:
            print("WAREHOUSE_URL is set: not stopping an external server", file=sys.stderr)
            return 0
        stopped = warehouse.stop_embedded_server(settings.var_dir)
        print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
        return 0
    params = warehouse.resolve(settings)
    try:
        applied = warehouse.migrate(params)
    except schema_migrations.MigrationError as refused:
        raise CliError(str(refused)) from None
    roles.set_passwords(params, roles.passwords_from(os.environ))
    if args.action == "migrate":
        print(f"applied: {', '.join(applied)}" if applied else "schema current: nothing to apply")
        print("roles and grants re-applied", file=sys.stderr)
        return 0
    print(params.url())
    return 0


def cmd_build_manifest(args: argparse.Namespace) -> int:
    print(build_manifest(Settings.from_env(), force=True))
    return 0


def cmd_build_docs(args: argparse.Namespace) -> int:
    print(build_docs(Settings.from_env(), empty_catalog=args.empty_catalog))
    return 0


def _owner_params(settings: Settings) -> warehouse.WarehouseParams:
    owner = warehouse.resolve(settings)
    _current_schema(settings, owner)
    return owner


def _reporter_params(settings: Settings) -> warehouse.WarehouseParams:
    """The reporter role (reads the marts): what `render` and `verify` connect as."""
    owner = _owner_params(settings)
    return roles.role_params(
        owner, roles.REPORTER, roles.passwords_from(os.environ)[roles.REPORTER]
    )


def cmd_ledger(args: argparse.Namespace) -> int:
    """Print each recipient's delivery status for a month, or settle an 'unknown' row."""
    from strategy_briefs.delivery.ledger import ledger_rows, resolve_unknown

    settings = Settings.from_env()
    period = str(periods.Period.parse(args.period))
    if args.action == "resolve":
        needed = {"--brief": args.brief, "--recipient": args.recipient}
        needed |= {"--as": args.decision, "--reason": (args.reason or "").strip()}
        missing = [flag for flag, value in needed.items() if not value]
        if missing:
            raise CliError(f"ledger resolve needs {', '.join(missing)}")
    params = _owner_params(settings)
    rows = ledger_rows(params, period)
    if args.action == "resolve":
        unknown = [
            r
            for r in rows
            if r.brief_id == args.brief and r.recipient == args.recipient and r.status == "unknown"
        ]
        if not unknown:
            raise CliError(
                f"no 'unknown' ledger row for {period} {args.brief} {args.recipient}"
                " (see `strategy-briefs ledger --period " + period + "`)"
            )
        row = max(unknown, key=lambda r: r.edition)
        decision = "accepted" if args.decision == "sent" else "resend"
        note = f"{args.reason} (by {_operator()})"
        resolve_unknown(
            params,
            period=period,
            brief_id=row.brief_id,
            edition=row.edition,
            recipient=row.recipient,
            decision=decision,
            note=note,
        )
        verdict = "accepted" if decision == "accepted" else "failed (sent again next delivery)"
        print(f"{period} {row.brief_id} edition {row.edition} {row.recipient}: {verdict}")
        return 0
    if not rows:
        print(f"{period}: no deliveries recorded", file=sys.stderr)
        return 0
    print(f"{'brief':<18} {'ed':>2}  {'recipient':<32} {'status':<9} {'tries':>5}  response")
    for r in rows:
        print(
            f"{r.brief_id:<18} {r.edition:>2}  {r.recipient:<32} {r.status:<9} {r.attempts:>5}"
            f"  {r.smtp_response or ''}"
        )
    return 0


def _operator() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown operator"


class _OneLineErrors(argparse.ArgumentParser):
    """Bad arguments: one line naming the problem (not the whole usage), exit 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineErrors(
        prog="strategy-briefs",
        description="Monthly line-of-business figures to executive PDF briefs.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run the monthly DAG for one month through Airflow (dag.test)",
        description="Run the monthly DAG for one month, showing each task's state; Airflow's "
        "and dbt's logs go to var/logs/<period>-<run>.log. Prints the PDFs written.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--period", required=True, metavar="YYYY-MM", help="reporting month, e.g. 2020-06"
    )
    run.add_argument("--dry-run", action="store_true", help="render the briefs but send no email")
    run.add_argument(
        "--force-reissue",
        metavar="REASON",
        help="send a corrected edition (更正版) again, giving the reason (printed on page 1)",
    )
    run.add_argument(
        "--reissue-brief",
        metavar="BRIEF[,BRIEF…]",
        help="with --force-reissue: re-send only these briefs, e.g. "
        "special_edition,precious_metals (default: every brief)",
    )
    run.set_defaults(func=cmd_run)

    validate = sub.add_parser("validate", help="check submission files without loading them")
    validate.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="CSV or XLSX submissions; prints FILE:ROW:COLUMN: message per problem",
    )
    validate.set_defaults(func=cmd_validate)

    render = sub.add_parser("render", help="render a month's briefs from the marts without sending")
    render.add_argument("--period", required=True, metavar="YYYY-MM", help="reporting month")
    render.add_argument(
        "--out", required=True, metavar="DIR", help="output folder (PDFs go to DIR/YYYY-MM/)"
    )
    render.add_argument(
        "--png", action="store_true", help="also write every page as PNG to DIR/YYYY-MM/png/"
    )
    render.add_argument(
        "--png-dpi", type=int, default=80, metavar="DPI", help="resolution of --png (default 80)"
    )
    render.set_defaults(func=cmd_render)

    verify = sub.add_parser(
        "verify",
        help="re-render a month from the warehouse and compare with the archived PDFs byte "
        "for byte; names each brief that differs and why (data or templates), exit 1 if any",
    )
    verify.add_argument("--period", required=True, metavar="YYYY-MM", help="reporting month")
    verify.set_defaults(func=cmd_verify)

    demo = sub.add_parser(
        "demo",
        help=f"load the sample history and run {', '.join(DEMO_MONTHS)} end to end",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.set_defaults(func=cmd_demo)

    env = sub.add_parser("env", help="print export lines for running Airflow against this project")
    env.set_defaults(func=cmd_env)

    wh = sub.add_parser(
        "warehouse", help="start (and print the URL of), migrate, or stop the warehouse"
    )
    wh.add_argument(
        "action",
        choices=["start", "migrate", "stop"],
        help="start: find or start it and migrate it; migrate: apply the pending schema "
        "migrations (each once; roles and grants every time) and print them; runs only "
        "check the schema; stop: stop the embedded one",
    )
    wh.set_defaults(func=cmd_warehouse)

    ledger = sub.add_parser(
        "ledger", help="print each recipient's delivery status, or resolve an 'unknown' row"
    )
    ledger.add_argument(
        "action",
        nargs="?",
        choices=["show", "resolve"],
        default="show",
        help="show (default) or resolve one 'unknown' row",
    )
    ledger.add_argument("--period", required=True, metavar="YYYY-MM", help="reporting month")
    ledger.add_argument("--brief", metavar="BRIEF_ID", help="resolve: special_edition or a lob")
    ledger.add_argument("--recipient", metavar="ADDRESS", help="resolve: the recipient")
    ledger.add_argument(
        "--as",
        dest="decision",
        choices=["sent", "unsent"],
        help="resolve: sent (the mail arrived; never resend) or unsent (send it again)",
    )
    ledger.add_argument("--reason", help="resolve: what the operator checked (recorded)")
    ledger.set_defaults(func=cmd_ledger)

    manifest = sub.add_parser(
        "build-manifest", help="parse the dbt project into target/manifest.json"
    )
    manifest.set_defaults(func=cmd_build_manifest)

    docs = sub.add_parser(
        "build-docs",
        help="dbt docs generate into dbt_project/target, served in the Airflow UI "
        "(Browse > dbt Docs)",
    )
    docs.add_argument(
        "--empty-catalog",
        action="store_true",
        help="connect to no warehouse: models, columns and descriptions, no column types",
    )
    docs.set_defaults(func=cmd_build_docs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CliError as exc:
        print(f"strategy-briefs {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (periods.PeriodError, ValueError, FileNotFoundError) as exc:
        print(f"strategy-briefs {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Exception:  # a bug or a broken environment: its traceback, and never 1 (held)
        import traceback

        traceback.print_exc()
        return RunFailed.exit_code


def console_script() -> NoReturn:
    """The `strategy-briefs` command: `main`, then out without the interpreter's teardown.

    A month's run leaves half a gigabyte of Python objects behind (Airflow's models, dbt's
    manifest, the fonts); the interpreter freed them one by one on the way out, 2.3 s of a
    23 s month on this machine, after the last task had finished. By then the run's work is
    committed and its files are closed; the exit handlers (logging's flush, Airflow's pool
    disposal, temporary directories' finalizers) still run, and what is printed is flushed.
    Only `main` is called in-process by tests; this is the console script alone."""
    code = main()
    for thread in threading.enumerate():  # as the interpreter's exit: its threads first ...
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # ... then its exit handlers
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console_script()
