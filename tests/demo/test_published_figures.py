"""The page's published figures file: read whole, checked against the catalogue, and the
numbers derived from it exact (the sample, the dbt rows and the brief facts all use them)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from strategy_briefs.periods import Period
from strategy_briefs_demo.published import FIGURES_FILE, PublishedFigureError, read_page


def _with_row(tmp_path: Path, row: str) -> Path:
    path = tmp_path / "figures.csv"
    path.write_text(FIGURES_FILE.read_text(encoding="utf-8") + row + "\n", encoding="utf-8")
    return path


def test_every_row_is_read_and_the_page_has_its_four_lines():
    page = read_page()
    lines = FIGURES_FILE.read_text(encoding="utf-8").splitlines()
    header, *rows = [line for line in lines if not line.startswith("#")]
    assert len(page.statements) == len(rows)
    assert {f.lob_code for f in page.figures()} == set(page.catalogue.lines_of_business)


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ("2020-13,mobile_banking,mb_customers,icbc,figure,1,亿户,,", "period", "not a YYYY-MM"),
        ("2020-06,credit_card,mb_customers,icbc,figure,1,亿户,,", "kpi_code", "not a KPI of"),
        ("2020-06,mobile_banking,mb_customers,citi,figure,1,亿户,,", "entity", "neither a bank"),
        ("2020-06,mobile_banking,mb_customers,icbc,mom_rate,1,%,,", "measure", "not one of"),
        ("2020-06,mobile_banking,mb_customers,icbc,figure,3.85亿,亿户,,", "value", "not a number"),
        ("2020-06,mobile_banking,mb_customers,icbc,figure,1,亿人,,", "unit", "not a unit"),
        ("2020-06,mobile_banking,mb_customers,icbc,figure,1,亿户,约,", "qualifier", "not one of"),
        ("2020-06,mobile_banking,mb_customers,icbc,lead,1,万户,,", "versus", "a lead names"),
        ("2020-06,mobile_banking,mb_customers,icbc,lead,1,万户,,citi", "versus", "a lead names"),
        ("2020-06,precious_metals,pm_pool_usd,icbc,change_since,1,亿美元,,3月", "versus", "a lead"),
    ],
)
def test_a_row_the_catalogue_cannot_place_is_refused_naming_row_and_column(
    tmp_path, row, column, reason
):
    path = _with_row(tmp_path, row)
    last_line = len(path.read_text(encoding="utf-8").splitlines())
    with pytest.raises(PublishedFigureError, match=reason) as refused:
        read_page(path)
    assert str(refused.value).startswith(f"{path}:{last_line}:{column}: ")


def test_a_number_stated_twice_is_refused(tmp_path):
    path = _with_row(tmp_path, "2020-06,mobile_banking,mb_customers,icbc,figure,3.86,亿户,,")
    with pytest.raises(PublishedFigureError, match="mb_customers icbc figure is stated twice"):
        read_page(path)


def test_derived_numbers_are_exact():
    page = read_page()
    assert page.runner_up("mb_customers") == ("ccb", Decimal("3.6738"))  # 3.85亿 − 1762万
    assert page.runner_up("mb_monthly_active") == ("ccb", Decimal("7401"))
    assert page.prior_year("mb_monthly_active", 2) == (Period(2019, 6), Decimal("6564.15"))
    assert page.prior_year("pm_new_active_accounts_ytd", 4)[1] == Decimal("52.4155")
    assert page.before_change("pm_pool_usd") == (Period(2020, 3), Decimal("28.66"))
