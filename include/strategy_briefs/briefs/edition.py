"""Editorial configuration (config/briefs.yaml) over the catalogue the seeds describe.

Wording that is not computed from figures lives in configuration; anything missing falls
back to the defaults below, written in the voice of the special-edition page. Which lines
of business, KPIs and banks there are is the catalogue's (`catalogue.load_catalogue`, read
once and passed in): the configuration only words them, and naming a line of business the
catalogue does not know is an error, not a silent skip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
from strategy_briefs.catalogue import Catalogue, LineOfBusiness, load_catalogue
from strategy_briefs.config import Settings

DEFAULT_EDITOR_NOTE = (
    "全方位做好个人金融业务，是践行以人民为中心发展思想的具体行动，也是实现全行经营稳定发展的重要基础。"
    "《工行通讯》围绕“第一个人金融银行”战略落地推进开展连载报道，本期推出“个金版块”相关业务条线的"
    "{article_count}篇报道，以期为全行员工了解战略执行动态、交流经验成果提供平台。"
)


@dataclass(frozen=True)
class ArticleWording:
    """config/briefs.yaml's words for one line of business's article (the line of business
    itself, its names and order, is the catalogue's `LineOfBusiness`)."""

    headline: str
    subtitle: str
    credit_line: str  # the config's, else the seed's
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
    catalogue: Catalogue
    wording: Mapping[str, ArticleWording]  # lob_code -> its article's words
    theme_subjects: dict[str, str] = field(default_factory=dict)  # judgements.theme_subjects
    direction: DirectionThresholds = field(default_factory=DirectionThresholds)
    streaks: StreakThresholds = field(default_factory=StreakThresholds)
    records: RecordThresholds = field(default_factory=RecordThresholds)
    rank_summary: RankSummaryThresholds = field(default_factory=RankSummaryThresholds)

    @property
    def lines_of_business(self) -> dict[str, LineOfBusiness]:
        return self.catalogue.lines_of_business

    @property
    def reporting_bank_code(self) -> str:
        return self.catalogue.reporting_bank.bank_code

    @property
    def bank_short_names(self) -> dict[str, str]:
        return {code: bank.short_name_zh for code, bank in self.catalogue.banks.items()}

    @property
    def parent_of(self) -> dict[str, str]:
        """kpi_catalogue.parent_kpi_code: child KPI -> the KPI it is part of."""
        kpis = self.catalogue.kpis.values()
        return {k.kpi_code: k.parent_kpi_code for k in kpis if k.parent_kpi_code}

    def article_rules(self, lob_code: str) -> ArticleRules:
        lob, words = self.lines_of_business[lob_code], self.wording[lob_code]
        return ArticleRules(
            lob_name_zh=lob.name_zh,
            companions=words.lead_companions,
            parent_of=self.parent_of,
            neutral_verb_kpis=words.neutral_verb_kpis,
            theme_subjects=self.theme_subjects,
            direction=self.direction,
            streaks=self.streaks,
            records=self.records,
            rank_summary=self.rank_summary,
            branches=words.branches,
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


def _article_wording(lob: LineOfBusiness, section: dict | None) -> ArticleWording:
    """lines_of_business.<lob> -> ArticleWording (the page's defaults where a key is missing)."""
    section = section or {}
    companions = {
        kpi: tuple(Companion(kpi_code=c["kpi"], label=c["label"]) for c in items)
        for kpi, items in (section.get("lead_companions") or {}).items()
    }
    return ArticleWording(
        headline=section.get("headline") or f"{lob.name_zh}业务扎实推进",
        subtitle=section.get("subtitle") or f"{lob.name_zh}业务全力落实“第一个人金融银行”战略",
        credit_line=section.get("credit_line") or lob.credit_line,
        outlook=_prose(section.get("outlook")),
        lead_companions=companions,
        neutral_verb_kpis=frozenset(section.get("neutral_verb_kpis") or ()),
        branches=_branch_rules(section.get("branches")),
    )


def _wording(config_file: Path, sections: dict, catalogue: Catalogue) -> dict[str, ArticleWording]:
    """Every line of business of the catalogue, worded; a section for any other is an error."""
    unknown = sorted(set(sections) - set(catalogue.lines_of_business))
    if unknown:
        raise ValueError(
            f"{config_file}: lines_of_business names {', '.join(unknown)}, not in the catalogue "
            f"(dbt_project/seeds/lines_of_business.csv: {', '.join(catalogue.lines_of_business)})"
        )
    return {
        code: _article_wording(lob, sections.get(code))
        for code, lob in catalogue.lines_of_business.items()
    }


def load_edition_config(
    config_file: Path | None = None, catalogue: Catalogue | None = None
) -> EditionConfig:
    """The wording config over `catalogue`; both default to the project's (`Settings`)."""
    import yaml

    if config_file is None or catalogue is None:
        settings = Settings.from_env()
        config_file = config_file or settings.briefs_config_file
        catalogue = catalogue or load_catalogue(settings.seeds_dir)
    raw = {}
    if config_file.exists():
        raw = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    edition = raw.get("edition") or {}
    judgements = raw.get("judgements") or {}
    thresholds = {k: Decimal(str(v)) for k, v in (judgements.get("direction") or {}).items()}
    if "min_kpis" in thresholds:
        thresholds["min_kpis"] = int(thresholds["min_kpis"])
    records = dict(judgements.get("records") or {})
    records["first_years"] = {k: int(v) for k, v in (records.get("first_years") or {}).items()}
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
        catalogue=catalogue,
        wording=_wording(config_file, raw.get("lines_of_business") or {}, catalogue),
        theme_subjects=dict(judgements.get("theme_subjects") or {}),
        direction=DirectionThresholds(**thresholds),
        streaks=StreakThresholds(**_whole_numbers(judgements.get("streaks"))),
        records=RecordThresholds(**records),
        rank_summary=RankSummaryThresholds(**_whole_numbers(judgements.get("rank_summary"))),
    )
