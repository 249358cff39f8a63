"""Checks on the generated text through its trace (issue 16, points 5 and 7), shared by the
property test over generated months and the rendered claims-file test; and a generator of
months that are not in the sample (values, comparisons, streaks, records and ranks varied)."""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import replace
from datetime import date
from decimal import Decimal

from strategy_briefs.briefs import narrative
from strategy_briefs.briefs.facts import BriefFact
from strategy_briefs.briefs.numbers import format_points, format_rate_change
from strategy_briefs.periods import Period
from tests.helpers.demo_facts import CATALOGUE, base_value, brief_fact_key, demo_facts

NUMBER = re.compile(r"\d+(?:\.\d+)?")
# every judgement phrase and the one rule allowed to write it
JUDGEMENT_PHRASES = {
    "显著提升": "direction",
    "稳步提升": "direction",
    "保持稳定": "direction",
    "有所回落": "direction",
    "持续扩大": "sustained",
    "年来最高水平": "record",
    "创历史新高": "record",
    "均稳居": "rank_summary",
    "以上": "change_step",
    "连续": "streak",
    "净增": "since_month",
    "净减": "since_month",
    "站稳": "branch_mark",
    "增量超": "branch_mark",
    "前列": "branch_spotlight",
}
FIGURE_RULES = ("level", "companion", "children")


def _numbers(text: str | None) -> set[str]:
    return set(NUMBER.findall(text or ""))


def _change_numbers(f: BriefFact) -> set[str]:
    tokens = set()
    for change in (f.yoy_change, f.mom_change):
        if change is None:
            continue
        if f.change_unit == "pp":
            tokens |= _numbers(format_points(change))
        else:
            tokens |= _numbers(format_rate_change(change, f.change_decimals))
    # the stepped 同比 as the rule words it (its rounding: test_brief_judgements' literals)
    return tokens | _numbers(narrative.stepped_change_clause(f))


def fact_numbers(f: BriefFact, rule: str) -> set[str]:
    """The numbers a clause of `rule` may print about fact `f`."""
    if rule in FIGURE_RULES:
        return _numbers(f.value_submitted) | _numbers(narrative.value_text(f))
    if rule in ("change", "change_step"):
        return _change_numbers(f)
    if rule == "lead":
        return _numbers(narrative.lead_clause(f))
    if rule == "streak":
        return {str(f.rise_streak_months)}
    if rule in ("period", "record"):
        return {str(f.period.month), "1"}  # 截至6月末, 1-5月, 1-5月增量
    if rule == "since_month":
        return _numbers(narrative.since_month_clause(f))
    return set()  # branch_mark, branch_spotlight: names and configured words only


def check_clause_numbers(sentences, facts_by_key: dict[str, BriefFact]) -> None:
    """Every number of every clause is a number of a fact the clause names, by its rule."""
    for sentence in sentences:
        for clause in sentence.clauses:
            allowed = set()
            for key in clause.fact_keys:
                allowed |= fact_numbers(facts_by_key[key], clause.rule)
            stray = _numbers(clause.text) - allowed
            assert not stray, f"{stray} in {clause.text!r} ({clause.rule}) is none of its facts"


def check_judgement_phrases(sentences) -> None:
    """A judgement phrase appears only in a clause of its rule, and each sentence is exactly
    its clauses (so nothing was written outside a rule)."""
    for sentence in sentences:
        assert sentence.clauses, sentence.text
        bare = sentence.text
        for clause in sentence.clauses:
            assert clause.text in bare, (clause.text, sentence.text)
            assert clause.fact_keys, f"{clause.text!r} rests on no fact"
            for phrase, rule in JUDGEMENT_PHRASES.items():
                if phrase in clause.text:
                    assert clause.rule == rule, f"{phrase} written by {clause.rule}: {clause.text}"
            bare = bare.replace(clause.text, "", 1)
        assert set(bare) <= set("，；。"), f"{bare!r} of {sentence.text!r} has no rule"


def _merit_fell(f: BriefFact) -> bool:
    move = narrative._merit_move(f)
    return move is not None and move < 0


def _sign(change) -> int:
    return 0 if change is None else (Decimal(change) > 0) - (Decimal(change) < 0)


def check_no_contradictions(sentences, facts_by_key: dict[str, BriefFact], rules) -> None:
    """A rise is never called a fall nor a fall a rise; a judgement agrees with its facts."""
    for sentence in sentences:
        for clause in sentence.clauses:
            facts = [facts_by_key[k] for k in clause.fact_keys]
            _check_clause(clause, facts, rules)


def _check_clause(clause, facts: list[BriefFact], rules) -> None:
    text, f = clause.text, facts[0]
    if clause.rule in ("change", "change_step"):
        sign = _sign(f.yoy_change)
        assert ("增长" in text or "提升" in text) == (sign > 0 and "持平" not in text), text
        assert ("下降" in text) == (sign < 0 and "持平" not in text), text
    elif clause.rule == "streak":
        assert _sign(f.mom_change) == (1 if f.higher_is_better else -1), text
        assert f.rise_streak_months >= rules.streaks.min_months, text
        assert not _merit_fell(f), f"{text} beside a 同比 the other way"
    elif clause.rule == "record":
        span = f.value_base if f.is_ytd else f.change_since_year_start_base
        assert span is not None and span > 0 and f.record_years >= 2, text
        assert not _merit_fell(f), f"{text} beside a 同比 fall"
    elif clause.rule in ("direction", "sustained"):
        moves = [narrative._merit_move(m) for m in facts]
        rose = sum(m is not None and m > 0 for m in moves)
        fell = sum(m is not None and m < 0 for m in moves)
        if "提升" in text or "扩大" in text:
            assert rose >= fell and (clause.rule == "direction" or fell == 0), text
        if "回落" in text:
            assert fell > rose, text
    elif clause.rule == "since_month":
        change = Decimal(f.change_since_month_base)
        assert ("净增" in text) == (change > 0) and ("净减" in text) == (change < 0), text
        assert f.period.month > f.since_month, text
    elif clause.rule == "branch_mark":
        _check_branch_mark(text, facts, rules)
    elif clause.rule == "branch_spotlight":
        first = [m for m in facts if m.branch_rank == 1]  # the branch said to lead
        assert first and first[0].branch_count >= rules.branches.spotlight_min_branches, text
    elif clause.rule == "rank_summary":
        ranked = [m for m in facts if m.peer_rank or m.is_rank_expected]
        assert all(m.peer_rank == 1 for m in ranked), text
        assert sum(m.is_rank_expected for m in ranked) == ranked[0].lob_expected_rank_count


def _check_branch_mark(text: str, facts: list[BriefFact], rules) -> None:
    """The branches named are exactly those past the mark's threshold."""
    mark = next(m for m in rules.branches.marks if m.words in text)
    named = set(text.split(rules.branches.branch_word)[0].split("、"))
    passed = set()
    for f in facts:
        value = f.value_base if mark.measure == "level" else f.change_since_year_start_base
        if value is not None and (
            value >= mark.threshold if mark.inclusive else value > mark.threshold
        ):
            passed.add(f.branch_name)
    assert named == passed, f"{text}: {passed}"


def check_each_figure_once(sentences) -> None:
    """No figure is printed twice in one article."""
    printed = Counter(
        key for s in sentences for c in s.clauses if c.rule in FIGURE_RULES for key in c.fact_keys
    )
    twice = [key for key, n in printed.items() if n > 1]
    assert not twice, f"printed twice: {twice}"


def check_sentence_lengths(sentences) -> None:
    """No sentence over MAX_SENTENCE_CHARS unless it is one figure's clauses, and then no
    stretch of it over that without a '，' break."""
    for s in sentences:
        figures = {k for c in s.clauses if c.rule in FIGURE_RULES for k in c.fact_keys}
        if len(s.text) > narrative.MAX_SENTENCE_CHARS:
            assert len(figures) <= 1, f"{len(s.text)} characters: {s.text}"
        longest = max(len(part) for part in re.split("[，；。]", s.text))
        assert longest <= narrative.MAX_SENTENCE_CHARS, s.text


def check_article(paragraphs, facts: list[BriefFact], rules) -> None:
    sentences = [s for p in paragraphs for s in p.sentences]
    by_key = {f.brief_fact_key: f for f in facts}
    check_judgement_phrases(sentences)
    check_clause_numbers(sentences, by_key)
    check_no_contradictions(sentences, by_key, rules)
    check_each_figure_once(sentences)
    check_sentence_lengths(sentences)


# --- a month that is not in the sample -------------------------------------------------------


def _scaled(f: BriefFact, factor: Decimal) -> BriefFact:
    if f.value_submitted is None or f.unit_submitted is None:
        return f
    submitted = Decimal(f.value_submitted)
    new = (submitted * factor).quantize(submitted) if submitted.as_tuple().exponent < 0 else None
    new = new if new is not None else Decimal(int(submitted * factor))
    if f.unit_submitted == "%":
        new = min(new, Decimal(99 if f.qualifier else 100))  # 'over 100%' is no share
    new = max(new, Decimal(1))
    text = f"{new:f}"
    return replace(f, value_submitted=text, value_base=base_value(text, f.unit_submitted))


def varied_fact(
    f: BriefFact, rnd: random.Random, month: date, factor: Decimal | None = None
) -> BriefFact:
    """One fact of a made-up month: its value (by `factor`, else a random one), comparisons,
    streak, record and rank varied."""
    f = _scaled(f, factor or Decimal(rnd.randint(50, 150)) / 100)
    key = brief_fact_key(Period.of(month), f.lob_code, f.kpi_code, f.branch_name)
    unit = "pp" if f.kind == "ratio" else "rate"
    pick = rnd.random
    change = lambda top: None if pick() < 0.3 else Decimal(rnd.randint(-top, top)) / 1000  # noqa: E731
    yoy = change(400)
    mom = change(50)
    if unit == "pp":
        yoy, mom = (None if c is None else c * 50 for c in (yoy, mom))
    changes = dict(
        brief_fact_key=key,
        period=month,
        yoy_change=yoy,
        mom_change=mom,
        change_unit=unit if yoy is not None or mom is not None else f.change_unit,
        rise_streak_months=None if f.is_ytd or pick() < 0.3 else rnd.randint(0, 14),
        record_years=None,
        history_years=None,
        change_since_year_start_base=None,
        is_demo_data=pick() < 0.2,
    )
    if f.kind in ("count", "amount", "weight") and pick() < 0.7:
        held = rnd.randint(1, 7)
        changes.update(record_years=rnd.randint(1, held), history_years=held)
        changes["change_since_year_start_base"] = Decimal(rnd.randint(-50, 100)) * 1000
    if f.since_month is not None:
        since = None if pick() < 0.2 else Decimal(rnd.randint(-200, 200)) * 1000000
        changes.update(change_since_month_base=since)
    if f.branch_name:
        changes.update(change_since_year_start_base=Decimal(rnd.randint(-500, 2500)))
    if f.peer_rank is not None or f.is_rank_expected:
        rank = rnd.choice([1, 1, 1, 2, None])
        lead = Decimal(rnd.randint(0, 3)) * 1000000 if rank == 1 else None
        changes.update(peer_rank=rank, peer_count=4 if rank else None, lead_over_runner_up=lead)
        changes.update(runner_up_short_name="建行" if rank == 1 else None)
    return replace(f, **changes)


def generated_month(seed: int, month: date = date(2021, 9, 1)) -> list[BriefFact]:
    """Every demo fact varied, a few left out, for `month` (2021-09 by default)."""
    rnd = random.Random(seed)
    factors: dict[str, Decimal] = {}  # a part scales with its total (其中 never above it)
    facts = []
    for f in demo_facts():
        parent = CATALOGUE.kpis[f.kpi_code].parent_kpi_code
        factor = factors.setdefault(parent or f.kpi_code, Decimal(rnd.randint(50, 150)) / 100)
        facts.append(varied_fact(f, rnd, month, factor))
    return [f for f in facts if rnd.random() > 0.1 or f.is_headline]
