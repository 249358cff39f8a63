"""Editorial configuration (config/briefs.yaml) and the seed lookups the briefs need.

Wording that is not computed from figures lives in configuration; anything missing falls
back to the defaults below, written in the voice of the special-edition page.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from strategy_briefs.briefs.narrative import (
    ArticleRules,
    BranchMark,
    BranchRules,
    Companion,
    DirectionThresholds,
    RankSummaryThresholds,
    RecordThresholds,
    StreakThresholds,
)
from strategy_briefs.config import PROJECT_ROOT

DEFAULT_CONFIG_FILE = PROJECT_ROOT / "config" / "briefs.yaml"
DEFAULT_SEEDS_DIR = PROJECT_ROOT / "dbt_project" / "seeds"

DEFAULT_EDITOR_NOTE = (
    "全方位做好个人金融业务，是践行以人民为中心发展思想的具体行动，也是实现全行经营稳定发展的重要基础。"
    "《工行通讯》围绕“第一个人金融银行”战略落地推进开展连载报道，本期推出“个金版块”相关业务条线的"
    "{article_count}篇报道，以期为全行员工了解战略执行动态、交流经验成果提供平台。"
)


@dataclass(frozen=True)
class LineOfBusiness:
    lob_code: str
    name_zh: str
    department_zh: str
    credit_line: str
    article_order: int
    headline: str
    subtitle: str
    outlook: str | None = None
    lead_companions: dict[str, tuple[Companion, ...]] = field(default_factory=dict)
    neutral_verb_kpis: frozenset[str] = frozenset()
    branches: BranchRules = field(default_factory=BranchRules)


@dataclass(frozen=True)
class EditionConfig:
    publication_zh: str
    section_band_zh: str
    section_band_en: str
    series_line: str
    title_zh: str
    author_zh: str
    confidentiality: str
    closing_slogan: str
    editor_note: str  # may hold '{article_count}'
    lines_of_business: dict[str, LineOfBusiness]
    bank_short_names: dict[str, str]
    reporting_bank_code: str
    parent_of: dict[str, str] = field(default_factory=dict)  # kpi_catalogue.parent_kpi_code
    theme_subjects: dict[str, str] = field(default_factory=dict)  # judgements.theme_subjects
    direction: DirectionThresholds = field(default_factory=DirectionThresholds)
    streaks: StreakThresholds = field(default_factory=StreakThresholds)
    records: RecordThresholds = field(default_factory=RecordThresholds)
    rank_summary: RankSummaryThresholds = field(default_factory=RankSummaryThresholds)

    def article_rules(self, lob_code: str) -> ArticleRules:
        lob = self.lines_of_business[lob_code]
        return ArticleRules(
            lob_name_zh=lob.name_zh,
            companions=lob.lead_companions,
            parent_of=self.parent_of,
            neutral_verb_kpis=lob.neutral_verb_kpis,
            theme_subjects=self.theme_subjects,
            direction=self.direction,
            streaks=self.streaks,
            records=self.records,
            rank_summary=self.rank_summary,
            branches=lob.branches,
        )


def _prose(text: str | None) -> str | None:
    """Folded YAML puts spaces where lines broke; Chinese prose has none."""
    if text is None:
        return None
    return re.sub(r"\s*\n\s*|(?<=[^\x00-\x7f])\s+(?=[^\x00-\x7f])", "", text.strip())


def _branch_mark(item: dict) -> BranchMark:
    """{kpi, measure, at_least | more_than, words} -> BranchMark."""
    inclusive = "at_least" in item
    threshold = item["at_least"] if inclusive else item["more_than"]
    return BranchMark(
        kpi_code=item["kpi"],
        measure=item.get("measure", "level"),
        threshold=Decimal(str(threshold)),
        inclusive=inclusive,
        words=item["words"],
    )


def _branch_rules(section: dict | None) -> BranchRules:
    """lines_of_business.<lob>.branches -> BranchRules (defaults where a key is missing)."""
    section = section or {}
    defaults = BranchRules()
    return BranchRules(
        branch_word=section.get("branch_word", defaults.branch_word),
        spotlight_kpis=tuple(section.get("spotlight_kpis") or ()),
        spotlight_words=section.get("spotlight_words", defaults.spotlight_words),
        spotlight_min_branches=int(
            section.get("spotlight_min_branches", defaults.spotlight_min_branches)
        ),
        marks=tuple(_branch_mark(item) for item in section.get("marks") or ()),
    )


def _whole_numbers(section: dict | None) -> dict[str, int]:
    return {key: int(value) for key, value in (section or {}).items()}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_edition_config(
    config_file: Path | None = None, seeds_dir: Path | None = None
) -> EditionConfig:
    import yaml

    config_file = config_file or DEFAULT_CONFIG_FILE
    seeds_dir = seeds_dir or DEFAULT_SEEDS_DIR
    raw = {}
    if config_file.exists():
        raw = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    edition = raw.get("edition") or {}
    lob_overrides = raw.get("lines_of_business") or {}

    lobs = {}
    for row in _read_csv(seeds_dir / "lines_of_business.csv"):
        code = row["lob_code"]
        override = lob_overrides.get(code) or {}
        companions = {
            kpi: tuple(Companion(kpi_code=c["kpi"], label=c["label"]) for c in items)
            for kpi, items in (override.get("lead_companions") or {}).items()
        }
        lobs[code] = LineOfBusiness(
            lob_code=code,
            name_zh=row["name_zh"],
            department_zh=row["department_zh"],
            credit_line=override.get("credit_line") or row["credit_line"],
            article_order=int(row["article_order"]),
            headline=override.get("headline") or f"{row['name_zh']}业务扎实推进",
            subtitle=override.get("subtitle")
            or f"{row['name_zh']}业务全力落实“第一个人金融银行”战略",
            outlook=_prose(override.get("outlook")),
            lead_companions=companions,
            neutral_verb_kpis=frozenset(override.get("neutral_verb_kpis") or ()),
            branches=_branch_rules(override.get("branches")),
        )

    judgements = raw.get("judgements") or {}
    thresholds = {k: Decimal(str(v)) for k, v in (judgements.get("direction") or {}).items()}
    if "min_kpis" in thresholds:
        thresholds["min_kpis"] = int(thresholds["min_kpis"])
    records = dict(judgements.get("records") or {})
    records["first_years"] = {k: int(v) for k, v in (records.get("first_years") or {}).items()}
    banks = _read_csv(seeds_dir / "peer_banks.csv")
    reporting = [b["bank_code"] for b in banks if b["is_reporting_bank"].lower() == "true"]
    return EditionConfig(
        publication_zh=edition.get("publication_zh", "工行通讯"),
        section_band_zh=edition.get("section_band_zh", "专版"),
        section_band_en=edition.get("section_band_en", "Special Edition"),
        series_line=edition.get("series_line", "推进“第一个人金融银行”战略系列专题报道之一："),
        title_zh=edition.get("title_zh", "推进“第一个人金融银行”战略专版"),
        author_zh=edition.get("author_zh", "个人金融业务部"),
        confidentiality=edition.get("confidentiality", "内部资料"),
        closing_slogan=edition.get("closing_slogan", "协力奋进 赢得未来"),
        editor_note=_prose(edition.get("editor_note")) or DEFAULT_EDITOR_NOTE,
        lines_of_business=lobs,
        bank_short_names={b["bank_code"]: b["short_name_zh"] for b in banks},
        reporting_bank_code=reporting[0] if reporting else "icbc",
        theme_subjects=dict(judgements.get("theme_subjects") or {}),
        direction=DirectionThresholds(**thresholds),
        streaks=StreakThresholds(**_whole_numbers(judgements.get("streaks"))),
        records=RecordThresholds(**records),
        rank_summary=RankSummaryThresholds(**_whole_numbers(judgements.get("rank_summary"))),
        parent_of={
            row["kpi_code"]: row["parent_kpi_code"]
            for row in _read_csv(seeds_dir / "kpi_catalogue.csv")
            if row.get("parent_kpi_code")
        },
    )
