"""The bundled sample: clean, regenerable, carrying the page's published figures
(published_figures.csv) as printed."""

from __future__ import annotations

import csv
import filecmp
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from strategy_briefs.catalogue import load_catalogue
from strategy_briefs.config import PROJECT_ROOT
from strategy_briefs.ingest import check_month, validate_file
from strategy_briefs_demo.published import Statement, read_page
from strategy_briefs_demo.sample_data import months, write_large_submission, write_sample

SAMPLE = PROJECT_ROOT / "data" / "incoming"
LOBS = ("credit_card", "mobile_banking", "precious_metals", "private_banking")


def cells(period: str, lob: str) -> dict[tuple[str, str], tuple[str, str, str]]:
    with (SAMPLE / period / f"{lob}.csv").open(encoding="utf-8", newline="") as handle:
        return {
            (r["kpi_code"], r["entity"]): (r["value"], r["unit"], r["note"])
            for r in csv.DictReader(handle)
        }


def test_every_bundled_month_validates_clean(catalogue):
    assert sorted(p.name for p in SAMPLE.iterdir() if p.is_dir()) == months("2019-01", "2020-07")
    for period in months("2019-01", "2020-07"):
        submissions, problems = check_month(SAMPLE, period, catalogue)
        assert problems == [], period
        assert sorted(submissions) == list(LOBS)


def test_committed_sample_is_what_the_generator_writes(tmp_path, catalogue):
    written = write_sample(tmp_path, catalogue)
    assert len(written) == 19 * 4
    for path in written:
        relative = path.relative_to(tmp_path)
        assert filecmp.cmp(path, SAMPLE / relative, shallow=False), relative


PAGE = read_page()


def _printed(statement: Statement) -> str:
    if statement.qualifier == "余":
        return statement.text + "余"
    return (statement.qualifier or "") + statement.text


@pytest.mark.parametrize(
    "figure", PAGE.figures(), ids=lambda f: f"{f.period}-{f.kpi_code}-{f.entity}"
)
def test_published_figures_sit_in_their_month_as_printed(figure):
    cell = cells(str(figure.period), figure.lob_code)[figure.kpi_code, figure.entity]
    assert cell == (_printed(figure), figure.unit, "已发布")


def test_the_runner_up_and_the_month_compared_with_are_derived_from_the_page():
    june = cells("2020-06", "mobile_banking")
    assert june["mb_customers", "ccb"] == ("3.6738", "亿户", "推算：3.85亿户−领先1762万户")
    assert june["mb_monthly_active", "ccb"] == ("7401", "万户", "推算：7726万户−领先325万户")
    assert cells("2020-03", "precious_metals")["pm_pool_usd", "icbc"] == (
        "28.66",
        "亿美元",
        "推算：29.85亿美元−较3月末净增1.19亿美元",
    )


@pytest.mark.parametrize(
    "rate",
    [s for s in PAGE.statements if s.measure == "yoy_rate"],
    ids=lambda s: s.kpi_code,
)
def test_the_year_before_a_published_rate_is_derived_in_the_same_unit(rate):
    """The prior year a published 同比 rate implies is in the sample, marked derived; that
    dbt computes the page's rate from the two is tests/dbt/test_dbt_backfill.py's."""
    current, prior = str(rate.period), str(rate.period.shift(-12))
    now = cells(current, rate.lob_code)[rate.kpi_code, "icbc"]
    before = cells(prior, rate.lob_code)[rate.kpi_code, "icbc"]
    assert now[1] == before[1]
    assert before[2].startswith("推算：")


def test_synthetic_months_are_demo_data_and_ytd_resets_each_january():
    for period in ("2019-03", "2020-02"):
        notes = {note for _value, _unit, note in cells(period, "mobile_banking").values()}
        assert notes == {"演示数据"}
    december = Decimal(cells("2019-12", "mobile_banking")["mb_txn_count_ytd", "icbc"][0])
    january = Decimal(cells("2020-01", "mobile_banking")["mb_txn_count_ytd", "icbc"][0])
    assert january < december / 6
    series = [
        Decimal(cells(p, "mobile_banking")["mb_txn_count_ytd", "icbc"][0])
        for p in months("2020-01", "2020-07")
    ]
    assert series == sorted(series)


def test_demo_months_carry_all_four_banks_for_a_computed_rank():
    for period in ("2019-01", "2020-05", "2020-07"):
        figures = cells(period, "mobile_banking")
        values = {
            bank: Decimal(figures["mb_customers", bank][0])
            for bank in ("icbc", "ccb", "abc", "boc")
        }
        assert max(values, key=values.get) == "icbc"
        assert ("mb_customers_rank", "icbc") not in figures


def test_branch_figures_match_the_page():
    june = cells("2020-06", "private_banking")
    december = cells("2019-12", "private_banking")
    clients = {
        e.removeprefix("branch:"): int(v[0])
        for (k, e), v in june.items()
        if k == "pb_branch_clients"
    }
    assert len(clients) == 8
    assert {b for b, n in clients.items() if n >= 10_000} == {"广东", "北京", "浙江"}
    rise = {b: clients[b] - int(december["pb_branch_clients", f"branch:{b}"][0]) for b in clients}
    grew = sorted((b for b in clients if rise[b] > 1000), key=lambda b: -rise[b])
    assert grew == ["江苏", "广东", "山东", "浙江", "北京"]  # the page's order: largest first


def test_each_published_branch_figure_leads_made_up_branches():
    june = cells("2020-06", "private_banking")
    for kpi in (
        "pb_branch_fx_asset_penetration",
        "pb_branch_credit_card_coverage",
        "pb_branch_rongex_coverage",
        "pb_branch_inclusive_drawdown_cum",
    ):
        rows = [(Decimal(v[0]), v[2]) for (k, _), v in june.items() if k == kpi]
        assert len(rows) == 3 and max(rows)[1] == "已发布", kpi
        assert sorted(note for _, note in rows) == ["已发布", "演示数据", "演示数据"]


def test_large_submission_is_valid_and_exact(tmp_path, catalogue):
    path = write_large_submission(tmp_path / "2020-06" / "mobile_banking.csv", 5_000)
    with path.open(encoding="utf-8") as handle:
        assert sum(1 for _ in handle) == 5_001
    assert validate_file(path, catalogue) == []


def test_a_new_line_of_business_is_a_seed_change(tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(PROJECT_ROOT / "dbt_project" / "seeds", seeds)
    with (seeds / "lines_of_business.csv").open("a", encoding="utf-8") as handle:
        handle.write(
            "wealth,财富管理,Wealth management,财富管理部,Wealth Department,供稿：财富管理部,5\n"
        )
    with (seeds / "kpi_catalogue.csv").open("a", encoding="utf-8") as handle:
        handle.write(
            "wm_aum,wealth,理财规模,理财规模,Wealth AUM,amount,元,false,true,true,true,10,,,1,客户规模,\n"
        )
    catalogue = load_catalogue(seeds)
    path = Path(tmp_path / "2020-06" / "wealth.csv")
    path.parent.mkdir()
    path.write_text(
        "期间,业务条线,指标代码,主体,数值,单位\n2020-06,财富管理,wm_aum,工行,3.2,万亿元\n",
        encoding="utf-8",
    )
    assert validate_file(path, catalogue) == []
    path.write_text(
        "期间,业务条线,指标代码,主体,数值,单位\n2020-06,wealth,wm_aum,ccb,3.2,万亿元\n",
        encoding="utf-8",
    )
    assert [p.message for p in validate_file(path, catalogue)] == [
        "required KPI wm_aum (理财规模) is missing for icbc (工商银行)"
    ]
