"""The dbt project built for real, month by month, against PostgreSQL; assertions on the marts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from dbt_harness import failed_nodes
from sample_raw_rows import RawFigure, load_figures

from strategy_briefs.config import venv_executable
from tests.helpers.demo_facts import demo_facts

JUNE = date(2020, 6, 1)


def fact(db, period: date, kpi_code: str) -> dict:
    cur = db.execute(
        "select * from marts.brief_facts where period = %s and kpi_code = %s", (period, kpi_code)
    )
    columns = [c.name for c in cur.description]
    row = cur.fetchone()
    assert row is not None, f"no brief fact for {period} {kpi_code}"
    return dict(zip(columns, row, strict=True))


def test_year_on_year_of_published_series(dbt_project, db):
    # FIGURES.md: 月均动户数 同比 +17.7%; 交易金额累计 +25.4%; 业务笔数累计 +21.8% (YTD vs YTD);
    # 客户经理管户客户渗透率 up 10 percentage points.
    active = fact(db, JUNE, "mb_monthly_active")
    assert round(active["yoy_change"], 3) == Decimal("0.177")
    assert active["change_unit"] == "rate"
    assert round(fact(db, JUNE, "mb_txn_amount_ytd")["yoy_change"], 3) == Decimal("0.254")
    assert round(fact(db, JUNE, "mb_txn_count_ytd")["yoy_change"], 3) == Decimal("0.218")
    managed = fact(db, JUNE, "mb_pen_managed")
    assert (managed["yoy_change"], managed["change_unit"]) == (Decimal("10"), "pp")
    assert managed["value_base"] == Decimal("0.7409")


def test_comparison_without_base_is_null(dbt_project, db):
    # first submitted in January 2020: a prior month exists, a prior year does not
    npl = fact(db, JUNE, "cc_rongejie_npl")
    assert npl["yoy_change"] is None
    assert npl["prior_year_value_base"] is None
    assert npl["mom_change"] == Decimal("0")
    # ranks carry no change at all
    rank = fact(db, JUNE, "mb_customers_rank")
    assert (rank["mom_change"], rank["yoy_change"], rank["change_unit"]) == (None, None, None)


def test_ytd_month_on_month_across_the_year_boundary(dbt_project, db):
    # sample YTDs grow by even monthly flows: 2019 by 303.0/6 亿笔, 2020 by 369.0/6 亿笔
    january = db.execute(
        "select value_base, month_flow_base, prior_month_flow_base, mom_change"
        " from marts.fct_kpi_values_monthly where period = '2020-01-01'"
        " and kpi_code = 'mb_txn_count_ytd' and entity_code = 'icbc'"
    ).fetchone()
    value, flow, prior_flow, mom = january
    assert flow == value == Decimal("61.5") * 10**8
    assert prior_flow == Decimal("50.5") * 10**8
    assert mom == round(Decimal("61.5") / Decimal("50.5") - 1, 10)


def test_computed_rank_when_all_four_banks_else_reported(dbt_project, db):
    registered = fact(db, JUNE, "cc_elife_registered")  # all four banks supplied
    assert (registered["peer_rank"], registered["peer_rank_source"]) == (1, "computed")
    assert registered["runner_up_short_name"] == "建行"
    assert registered["lead_over_runner_up"] == Decimal("11000000")

    customers = fact(db, JUNE, "mb_customers")  # only 建行 beside us, rank reported
    assert (customers["peer_rank"], customers["peer_rank_source"], customers["peer_count"]) == (
        1,
        "reported",
        4,
    )
    assert customers["runner_up_short_name"] == "建行"
    assert customers["lead_over_runner_up"] == Decimal("17620000")  # 领先第二名建行1762万户
    assert fact(db, JUNE, "mb_monthly_active")["lead_over_runner_up"] == Decimal("3250000")

    peer_clients = fact(db, JUNE, "pb_clients_peer")  # reported rank, no other bank's figure
    assert (peer_clients["peer_rank"], peer_clients["peer_rank_source"]) == (1, "reported")
    assert peer_clients["runner_up_bank_code"] is None
    assert peer_clients["lead_over_runner_up"] is None


def test_branch_standings(dbt_project, db):
    rows = db.execute(
        "select branch_name, branch_rank, branch_count, increase_rank"
        " from marts.fct_branch_standings where period = '2020-06-01'"
        " and kpi_code = 'pb_branch_clients' order by branch_rank"
    ).fetchall()
    assert [r[0] for r in rows] == ["广东", "北京", "浙江", "江苏", "上海", "山东"]
    assert {r[2] for r in rows} == {6}
    assert dict((r[0], r[3]) for r in rows)["江苏"] == 1  # largest increase since December


def _branch_facts(db, kpi_code: str) -> list[dict]:
    cur = db.execute(
        "select * from marts.brief_facts where period = %s and kpi_code = %s order by branch_rank",
        (JUNE, kpi_code),
    )
    columns = [c.name for c in cur.description]
    return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


def test_branch_figures_reach_brief_facts_with_their_standing(dbt_project, db):
    fx = _branch_facts(db, "pb_branch_fx_asset_penetration")
    assert [(r["branch_name"], r["branch_rank"], r["branch_count"]) for r in fx] == [
        ("上海", 1, 3),
        ("北京", 2, 3),
        ("广东", 3, 3),
    ]
    assert fx[0]["brief_fact_key"] == "2020-06|private_banking|pb_branch_fx_asset_penetration|上海"
    assert fx[0]["value_base"] == Decimal("0.58") and not fx[0]["is_demo_data"]
    assert fx[0]["peer_rank"] is None  # branches are not ranked among the banks
    clients = {r["branch_name"]: r for r in _branch_facts(db, "pb_branch_clients")}
    assert clients["江苏"]["branch_increase_rank"] == 1
    assert clients["江苏"]["change_since_year_start_base"] == Decimal("1516")  # made_up_branches
    assert clients["广东"]["branch_rank_uses_demo_data"] is False  # June published throughout
    # the reporting bank's own facts carry no branch
    assert fact(db, JUNE, "pb_clients")["branch_name"] is None


def test_the_brief_tests_facts_carry_the_keys_dbt_builds(dbt_project, db):
    # the brief tests' facts (tests/helpers/demo_facts) are made without a warehouse; the
    # rows they share with this build (June's published KPIs and the made-up branches) must
    # carry the keys dbt gives them
    built = {
        (kpi_code, branch): key
        for kpi_code, branch, key in db.execute(
            "select kpi_code, branch_name, brief_fact_key from marts.brief_facts where period = %s",
            (JUNE,),
        )
    }
    minted = {(f.kpi_code, f.branch_name): f.brief_fact_key for f in demo_facts()}
    shared = built.keys() & minted.keys()
    assert len(shared) >= 30 and ("pb_branch_clients", "江苏") in shared
    assert {k: minted[k] for k in shared} == {k: built[k] for k in shared}


def test_change_since_the_named_month_reaches_brief_facts(dbt_project, db):
    usd = fact(db, JUNE, "pm_pool_usd")
    assert usd["since_month"] == 3
    assert usd["change_since_month_base"] == Decimal("119000000")
    assert usd["since_month_uses_demo_data"] is True  # March is made up in this history
    assert fact(db, JUNE, "pm_pool_balance")["change_since_month_base"] is None


def test_only_built_months_exist_and_rows_carry_demo_flag(dbt_project, db):
    periods = [
        r[0]
        for r in db.execute("select distinct period from marts.fct_kpi_values_monthly order by 1")
    ]
    assert periods == [date(2020, 1, 1), date(2020, 5, 1), date(2020, 6, 1)]
    flags = dict(
        db.execute(
            "select period, bool_and(is_demo_data) from marts.brief_facts group by period"
        ).fetchall()
    )
    assert flags[JUNE] is False and flags[date(2020, 5, 1)] is True


def _row_versions(db, table: str, key: str) -> dict[str, tuple[date, str]]:
    rows = db.execute(f"select {key}, period, xmin::text from marts.{table}").fetchall()
    return {k: (p, x) for k, p, x in rows}


def test_rerun_of_a_month_replaces_that_month_only(dbt_project, db, warehouse_params):
    may = date(2020, 5, 1)
    before = {
        t: _row_versions(db, t, k)
        for t, k in [
            ("fct_kpi_values_monthly", "kpi_value_key"),
            ("brief_facts", "brief_fact_key"),
        ]
    }
    db.commit()
    # the mobile-banking department re-submits May: one figure changed, one dropped
    db.execute(
        "update raw.lob_figures set value_base = 7000 * 10000, value_submitted = '7000'"
        " where period = %s and kpi_code = 'mb_monthly_active' and entity_code = 'icbc'",
        (may,),
    )
    db.execute("delete from raw.lob_figures where period = %s and kpi_code = 'mb_pen_new'", (may,))
    db.commit()

    result = dbt_project.build_month("2020-05", command="run")
    assert result.success, failed_nodes(result)

    after = {
        t: _row_versions(db, t, k)
        for t, k in [
            ("fct_kpi_values_monthly", "kpi_value_key"),
            ("brief_facts", "brief_fact_key"),
        ]
    }
    for table in before:
        untouched_before = {k: v for k, v in before[table].items() if v[0] != may}
        untouched_after = {k: v for k, v in after[table].items() if v[0] != may}
        assert untouched_after == untouched_before, f"{table}: other months were rewritten"
        assert all(
            v[1] != before[table].get(k, (None, None))[1]
            for k, v in after[table].items()
            if v[0] == may
        ), f"{table}: May was not rewritten"
    assert "2020-05|mobile_banking|mb_pen_new" not in after["brief_facts"]
    assert "2020-05|mobile_banking|mb_pen_new" in before["brief_facts"]
    assert fact(db, may, "mb_monthly_active")["value_base"] == Decimal("70000000")


def test_broken_month_fails_a_test_and_stops_brief_facts(dbt_project, db):
    august = date(2020, 8, 1)
    # a loader bug: a penetration rate stored in percent instead of as a fraction
    load_figures(
        db,
        [
            RawFigure(
                august,
                "mobile_banking",
                "mb_pen_new",
                "bank",
                "icbc",
                "45.58",
                "%",
                Decimal("45.58"),
            ),
        ],
    )
    result = dbt_project.build_month("2020-08")
    assert not result.success
    assert any(
        name.startswith("ratio_within_unit_interval_fct_kpi_values_monthly")
        for name in failed_nodes(result)
    )
    skipped = [r.node.name for r in result.result.results if str(r.status) == "skipped"]
    assert "brief_facts" in skipped
    assert db.execute(
        "select count(*) from marts.brief_facts where period = %s", (august,)
    ).fetchone() == (0,)


def test_a_figure_that_does_not_fit_its_kpi_fails_the_staging_test(dbt_project, db):
    september = date(2020, 9, 1)
    # rows the loader would have refused: another line's KPI, a unit of another base unit
    load_figures(
        db,
        [
            RawFigure(september, "credit_card", "mb_customers", "bank", "icbc", "3.9", "亿户",
                      Decimal("390000000")),
            RawFigure(september, "mobile_banking", "mb_monthly_active", "bank", "icbc", "2",
                      "亿元", Decimal("200000000")),
        ],
    )  # fmt: skip
    # the staging layer as the DAG's warehouse.staging builds it: the test reads the seeds too
    result = dbt_project.invoke("build", "--select", "path:models/staging", period="2020-09")
    [misfits] = [r for r in result.result.results if r.node.name == "assert_figure_fits_its_kpi"]
    assert (str(misfits.status), misfits.failures) == ("fail", 2)
    assert not result.success


@pytest.mark.parametrize("bad_period", ["2020-13", "June"])
def test_malformed_period_var_is_refused(dbt_project, bad_period):
    result = dbt_project.invoke("compile", "--select", "int_kpi_values_compared", period=bad_period)
    assert not result.success


def test_highlights_reach_their_mart_for_the_month_built(dbt_project, db):
    """raw.lob_highlights -> stg (normalised) -> marts.brief_highlights, the month built only;
    a rebuild of the month after the items are withdrawn leaves none."""
    (load_id,) = db.execute(
        "insert into raw.load_audit (period, lob_code, source_file, source_sha256, row_count,"
        " submission) values (%s, 'mobile_banking', 'h.csv', %s, 2, 'highlights')"
        " returning load_id",
        (JUNE, "0" * 64),
    ).fetchone()
    db.execute(
        "insert into raw.lob_highlights (load_id, period, lob_code, item_no, opener, body,"
        " source_file, source_row) values"
        " (%(id)s, %(june)s, 'mobile_banking', 2, ' ', ' 正文二 ', 'h.csv', 3),"
        " (%(id)s, %(june)s, 'mobile_banking', 1, '首句。', '正文一', 'h.csv', 2),"
        " (%(id)s, date '2020-05-01', 'mobile_banking', 1, null, '五月', 'h.csv', 2)",
        {"id": load_id, "june": JUNE},
    )
    db.commit()
    built = dbt_project.invoke("build", "--select", "brief_highlights", period="2020-06")
    assert built.success, failed_nodes(built)
    rows = db.execute(
        "select brief_highlight_key, item_no, opener, body from marts.brief_highlights"
        " order by brief_highlight_key"
    ).fetchall()
    assert rows == [
        ("2020-06|mobile_banking|1", 1, "首句。", "正文一"),
        ("2020-06|mobile_banking|2", 2, None, "正文二"),
    ]
    db.execute("delete from raw.lob_highlights where load_id = %s", (load_id,))
    db.execute("delete from raw.load_audit where load_id = %s", (load_id,))
    db.commit()
    rebuilt = dbt_project.invoke("build", "--select", "brief_highlights", period="2020-06")
    assert rebuilt.success, failed_nodes(rebuilt)
    assert db.execute("select count(*) from marts.brief_highlights").fetchone() == (0,)


def _expected_streak(db, kpi_code: str, higher_is_better: bool = True) -> int:
    """The streak counted here from the staged history, month by month, independently."""
    rows = db.execute(
        "select period, value_base from staging.stg_raw__lob_figures where kpi_code = %s"
        " and entity_type = 'bank' and entity_code = 'icbc' and period <= %s order by period",
        (kpi_code, JUNE),
    ).fetchall()
    streak = 0
    for (month, value), (before_month, before) in zip(
        reversed(rows[1:]), reversed(rows[:-1]), strict=True
    ):
        adjacent = (month.year * 12 + month.month) - (before_month.year * 12 + before_month.month)
        if adjacent != 1 or not ((value > before) if higher_is_better else (value < before)):
            break
        streak += 1
    return streak


def test_judgements_needing_history_reach_brief_facts(dbt_project, db):
    customers = fact(db, JUNE, "mb_customers")
    assert customers["rise_streak_months"] == _expected_streak(db, "mb_customers") > 0
    npl = fact(db, JUNE, "cc_rongejie_npl")
    assert npl["rise_streak_months"] == _expected_streak(db, "cc_rongejie_npl", False)
    assert fact(db, JUNE, "mb_txn_count_ytd")["rise_streak_months"] is None  # cumulative
    # the warehouse holds June 2019 and June 2020 (from May 2019): two years, never more
    for kpi in ("mb_customers", "pb_clients", "mb_txn_amount_ytd"):
        row = fact(db, JUNE, kpi)
        assert row["history_years"] <= 2 and row["record_years"] <= row["history_years"], row
    assert fact(db, JUNE, "mb_pen_managed")["history_years"] is None  # ratios hold no record
    # the rank summary's denominators and the catalogue's change steps
    assert customers["is_rank_expected"] and customers["lob_expected_rank_count"] == 2
    assert not fact(db, JUNE, "mb_pen_managed")["is_rank_expected"]
    assert fact(db, JUNE, "mb_pen_managed")["change_round_step"] == Decimal("1")
    assert customers["change_round_step"] is None


def test_each_seed_build_records_the_checksum_the_manifest_gives_its_csv(dbt_project, db):
    """A month's seed task skips a seed whose recorded checksum is the manifest's
    (cosmos_config.SeedBuildWhenChanged): the two must be the same figure for the same CSV."""
    from strategy_briefs.orchestration.cosmos_config import _manifest_seed_checksums

    recorded = dict(
        db.execute(
            "select distinct on (unique_id) unique_id, seed_checksum from audit.dbt_node_results"
            " where resource_type = 'seed' and status = 'success'"
            " order by unique_id, recorded_at desc"
        ).fetchall()
    )
    manifest = _manifest_seed_checksums()
    assert set(manifest) == {f"seed.strategy_briefs.{name}" for name in
                             ("kpi_catalogue", "lines_of_business", "peer_banks", "units")}  # fmt: skip
    assert recorded == manifest
    models = db.execute(
        "select count(*) from audit.dbt_node_results"
        " where resource_type <> 'seed' and seed_checksum is not null"
    ).fetchone()[0]
    assert models == 0


def _marts_state(conn) -> dict[str, str]:
    """Per mart: a digest of its rows and their row versions (a rebuilt month gets new ones
    even from the same figures, so any write of a dbt run shows)."""
    tables = [
        row[0]
        for row in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
            " and table_type = 'BASE TABLE' order by 1"
        )
    ]
    return {
        table: conn.execute(
            f"select md5(coalesce(string_agg(t::text || xmin::text, E'\\n'"
            f" order by t::text), '')) from marts.{table} t"
        ).fetchone()[0]
        for table in tables
    }


def test_dbt_killed_while_it_writes_a_mart_leaves_the_marts_as_they_were(
    dbt_project, warehouse_params
):
    """Issue 17: the run SIGKILLed during dbt. The test holds a reader's lock on every mart,
    so the month's delete-and-append waits in its transaction; dbt is killed there. (Each
    mart commits on its own: a run killed between two marts is rebuilt by the next, and the
    quality gate sends nothing unless every node of the run passed.)"""
    import os
    import subprocess

    from strategy_briefs import warehouse
    from tests.helpers.kill_points import blocked_by, ended, eventually, sigkill

    with warehouse.connect(warehouse_params, autocommit=True) as admin:
        before = _marts_state(admin)
        assert len(before) >= 5
        with warehouse.connect(warehouse_params) as holder:
            holder.execute(f"lock table {', '.join(f'marts.{t}' for t in before)} in share mode")
            # the period as the fixture's last build, so no reparse
            run = dbt_project.argv("run", period="2020-06", log_dir="killed-logs")
            dbt = subprocess.Popen(
                [str(venv_executable("dbt")), *run],
                env={**os.environ, **warehouse_params.dbt_env()},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            waiting = eventually(blocked_by(admin, holder.info.backend_pid), "a mart's write")
            assert all("marts" in query for _pid, query in waiting)
            sigkill(dbt)
            holder.rollback()
        ended(admin, [pid for pid, _query in waiting])
        assert _marts_state(admin) == before
