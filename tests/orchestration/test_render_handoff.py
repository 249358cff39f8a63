"""The render task's XCom value survives Airflow's own XCom serialisation, typed."""

from __future__ import annotations

import json
from pathlib import Path

from airflow.sdk.serde import serialize
from airflow.utils.json import XComDecoder

from strategy_briefs.briefs.context import HeadlineLine
from strategy_briefs.orchestration.tasks import RenderedForDelivery


def test_rendered_brief_round_trips_through_xcom_with_its_headline_lines():
    brief = RenderedForDelivery(
        brief_id="mobile_banking",
        title_zh="手机银行月度简报（2020年6月）",
        path=Path("/tmp/out/2020-06/mobile_banking-2020-06.pdf"),
        sha256="ab" * 32,
        warnings=("a highlight disagrees",),
        headline_lines=(HeadlineLine("手机银行", "截至6月末，手机银行客户数达到3.85亿户＊。"),),
        demo_notice="本期标＊的数据为演示数据。",
        data_snapshot_sha256="cd" * 32,
        template_version="ef" * 32,
    )
    stored = json.dumps(serialize([brief]))  # what the XCom table holds
    [back] = json.loads(stored, cls=XComDecoder)
    assert back == brief
    assert isinstance(back.path, Path) and isinstance(back.headline_lines[0], HeadlineLine)
    sent = back.to_send()
    assert (sent.headline_lines, sent.demo_notice) == (brief.headline_lines, brief.demo_notice)
    # provenance reaches the archive manifest through the same hand-off
    assert (sent.data_snapshot_sha256, sent.template_version) == ("cd" * 32, "ef" * 32)
