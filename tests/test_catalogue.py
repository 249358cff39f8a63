"""The catalogue read from the dbt seeds: each seed row a typed record, and a seed the
briefs cannot use refused with its file, row and reason."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest

from strategy_briefs.catalogue import load_catalogue
from strategy_briefs.config import Settings

SEEDS = Settings.from_env().seeds_dir


def test_seed_rows_become_typed_records():
    catalogue = load_catalogue(SEEDS)
    managed = catalogue.kpis["mb_pen_managed"]
    assert (managed.kind, managed.is_ytd, managed.display_order) == ("ratio", False, 61)
    assert (managed.change_round_step, managed.parent_kpi_code) == (Decimal("1"), None)
    assert catalogue.kpis["mb_customers_rank"].ranks_kpi_code == "mb_customers"
    assert catalogue.units["亿户"].base_value("3.85") == Decimal("385000000")
    assert catalogue.units["%"].base_value("82.5") == Decimal("0.825")
    assert catalogue.reporting_bank.bank_code == "icbc"
    assert catalogue.lines_of_business["mobile_banking"].article_order == 1


@pytest.mark.parametrize(
    ("seed", "old", "new", "refusal"),
    [
        ("kpi_catalogue.csv", ",ratio,%,", ",share,%,", "mb_.*: unknown kind 'share'"),
        (
            "kpi_catalogue.csv",
            ",客户经理管户客户渗透率,管户客户渗透率,",
            ",客户经理管户客户渗透率,客户经理管户客户渗透率,",
            "mb_pen_managed: short_name_zh must have 1 to 10 characters",
        ),
        (
            "kpi_catalogue.csv",
            "mb_customers,mobile_banking,",
            "mb_customers,mobile,",
            "unknown lob",
        ),
        ("peer_banks.csv", ",true", ",false", "exactly one bank must have is_reporting_bank"),
    ],
)
def test_a_seed_the_briefs_cannot_use_is_refused(tmp_path, seed, old, new, refusal):
    seeds = shutil.copytree(SEEDS, tmp_path / "seeds")
    text = (seeds / seed).read_text(encoding="utf-8")
    assert old in text
    (seeds / seed).write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ValueError, match=refusal):
        load_catalogue(seeds)
