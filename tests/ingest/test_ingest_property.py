"""Property: any valid submission loads, and reads back equal to what was submitted."""

from __future__ import annotations

import csv
import io
import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategy_briefs.catalogue import load_catalogue
from strategy_briefs.config import PROJECT_ROOT
from strategy_briefs.ingest import load_submission

CATALOGUE = load_catalogue(PROJECT_ROOT / "dbt_project" / "seeds")
LOB = "mobile_banking"
KPIS = CATALOGUE.kpis_of(LOB)
REQUIRED = [k.kpi_code for k in CATALOGUE.required_kpis(LOB)]
BANK_SPELLINGS = {
    code: [code, code.upper(), bank.name_zh, bank.short_name_zh]
    for code, bank in CATALOGUE.banks.items()
}
COUNTER = itertools.count()
pytestmark = pytest.mark.usefixtures("test_months")

# names and notes with what CSV and COPY must escape: commas, quotes, tabs, backslashes,
# line breaks, and text that a spreadsheet would take for a formula
odd_text = st.text(
    alphabet=st.sampled_from(list("广东北京浙江分行abc,\"'\t\\\n=+-@ 　%")), min_size=1, max_size=12
)
# a branch name is a key printed in the briefs: no tab or line break (a note may have them);
# drawn as the validator keeps it (no 分行 at its end, no space around it), and written
# with spaces of either width around it, which must not reach the key
branch_name = st.text(
    alphabet=st.sampled_from(list("广东北京浙江分行abc,\"'\\=+-@ %")), min_size=1, max_size=12
).filter(lambda t: t == t.strip() and t and not t.endswith("分行"))
padding = st.sampled_from(["", " ", "　", " 　 "])


def fitting_units(kpi):
    return [
        u for u in CATALOGUE.units.values() if u.kind == kpi.kind and u.base_unit == kpi.base_unit
    ]


@st.composite
def figure(draw, kpi_code: str, entity_type: str | None = None):
    kpi = CATALOGUE.kpis[kpi_code]
    if entity_type == "bank" or (entity_type is None and draw(st.booleans())):
        code = "icbc" if entity_type == "bank" else draw(st.sampled_from(sorted(BANK_SPELLINGS)))
        entity_text = draw(st.sampled_from(BANK_SPELLINGS[code]))
        entity = ("bank", code)
    else:
        name = draw(branch_name)
        entity_text = f"branch:{draw(padding)}{name}{draw(padding)}"
        entity = ("branch", name)
    unit = draw(st.sampled_from(fitting_units(kpi)))
    if kpi.kind == "ratio":
        number = draw(st.decimals(0, 100, places=draw(st.integers(0, 3))))
    elif kpi.kind == "rank":
        number = Decimal(draw(st.integers(1, 4)))
    else:
        number = draw(st.decimals(0, 10**9, places=draw(st.integers(0, 4))))
    number_text = str(number)
    qualifier = draw(st.sampled_from([None, "超过", "近", "余"]))
    printed = {
        None: number_text,
        "超过": "超过" + number_text,
        "近": "近" + number_text,
        "余": number_text + "余",
    }[qualifier]
    note = draw(st.none() | odd_text)
    return {
        "kpi": kpi_code,
        "entity_text": entity_text,
        "entity": entity,
        "value": printed,
        "number": number_text,
        "unit": unit,
        "qualifier": qualifier,
        "note": note,
    }


@st.composite
def submission(draw):
    rows = [draw(figure(code, "bank")) for code in REQUIRED]
    optional = draw(st.lists(st.sampled_from([k.kpi_code for k in KPIS]), max_size=12))
    rows += [draw(figure(code)) for code in optional]
    seen, unique = set(), []
    for row in rows:
        key = (row["kpi"], *row["entity"])
        if key not in seen:
            seen.add(key)
            unique.append(row)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    chinese_header = draw(st.booleans())
    return unique, encoding, chinese_header


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(submission())
def test_valid_submission_loads_and_reads_back_equal(warehouse_params, db, tmp_path, data):
    rows, encoding, chinese_header = data
    period = "2031-12"
    path = tmp_path / str(next(COUNTER)) / period / f"{LOB}.csv"
    path.parent.mkdir(parents=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        ["期间", "业务条线", "指标代码", "主体", "数值", "单位", "备注"]
        if chinese_header
        else ["period", "lob", "kpi_code", "entity", "value", "unit", "note"]
    )
    for row in rows:
        writer.writerow(
            [
                period,
                LOB,
                row["kpi"],
                row["entity_text"],
                row["value"],
                row["unit"].unit,
                row["note"] or "",
            ]
        )
    path.write_bytes(buffer.getvalue().encode(encoding))

    result = load_submission(
        warehouse_params, path, period=period, lob_code=LOB, catalogue=CATALOGUE
    )
    assert result.row_count == len(rows)
    loaded = {
        (r[0], r[1], r[2]): r[3:]
        for r in db.execute(
            "select kpi_code, entity_type, entity_code, value_submitted, unit_submitted,"
            " value_base, qualifier, note, source_row from raw.lob_figures"
            " where period = %s and lob_code = %s",
            (f"{period}-01", LOB),
        )
    }
    expected = {}
    for source_row, row in enumerate(rows, start=2):
        note = (row["note"] or "").strip() or None
        expected[(row["kpi"], *row["entity"])] = (
            row["number"],
            row["unit"].unit,
            row["qualifier"],
            note,
            source_row,
        )
    assert {key: (*r[:2], *r[3:]) for key, r in loaded.items()} == expected
    # in the unit submitted, the stored base value reads back as the number submitted
    for key, (number, unit, *_) in expected.items():
        assert loaded[key][2] / CATALOGUE.units[unit].factor == Decimal(number)
