"""The tasks' XCom values survive Airflow's own XCom serialisation, typed."""

from __future__ import annotations

import json
from pathlib import Path

from airflow.sdk.serde import serialize
from airflow.utils.json import XComDecoder

from strategy_briefs.briefs.context import HeadlineLine
from strategy_briefs.orchestration.handoff import RenderedBrief, StagedFile


def through_xcom(value):
    """What a downstream task gets back: the value as the XCom table holds it, decoded."""
    return json.loads(json.dumps(serialize(value)), cls=XComDecoder)


def test_rendered_brief_round_trips_through_xcom_with_its_headline_lines():
    brief = RenderedBrief(
        brief_id="mobile_banking",
        title_zh="手机银行月度简报（2020年6月）",
        path=Path("/tmp/out/2020-06/mobile_banking-2020-06.pdf"),
        sha256="ab" * 32,
        page_count=2,
        warnings=("a highlight disagrees",),
        data_snapshot_sha256="cd" * 32,
        template_version="ef" * 32,
        headline_lines=(HeadlineLine("手机银行", "截至6月末，手机银行客户数达到3.85亿户＊。"),),
        demo_notice="本期标＊的数据为演示数据。",
        correction_note="信用卡交易额口径更正",
        trace_path=Path("/tmp/out/2020-06/mobile_banking-2020-06.trace.json"),
    )
    [back] = through_xcom([brief])
    assert back == brief
    assert isinstance(back.path, Path) and isinstance(back.trace_path, Path)
    assert isinstance(back.headline_lines[0], HeadlineLine) and back.is_correction


def test_a_staged_file_round_trips_through_xcom():
    staged = StagedFile(
        stage_id=7,
        run_key="manual__2020-07-05",
        period="2020-06",
        lob_code="credit_card",
        source_file="2020-06/credit_card.csv",
        source_sha256="ab" * 32,
        source_size=2048,
        source_encoding="utf-8",
        row_count=41,
        demo_rows=3,
    )
    assert through_xcom(staged) == staged
