"""The sources' freshness as `dbt source freshness` decides it, in one SQL query.

The rules stay declared once, in dbt (`dbt_project/models/staging/raw/_raw__sources.yml`:
loaded_at_field, warn_after, error_after, filter); they are read from the dbt manifest
(`cosmos_config.manifest_sources`), and every source is answered by one query on the
task's own connection instead of a dbt invocation (about a second of dbt start-up and
project loading for five `max(loaded_at)` queries). The semantics are dbt 1.11's (read in
dbt-core's `task/freshness.py`, `artifacts/resources/v1/components.py` and dbt-adapters'
`base/impl.py`, the versions `uv.lock` holds).

Rules (one function each):
- rules:     every source of the manifest with a warn_after or an error_after is checked; a
             threshold counts only with both its count and its period (dbt's `Time`)
- filter:    a filter is conditions `column = 'value'` joined by `and` (what the project's
             sources declare), composed as identifiers and literals, never spliced into
             the SQL as text; the loaded_at_field is a column; anything else is refused by
             the source's name
- query:     one statement: per source `max(<loaded_at_field>)` of its table where its
             filter holds (dbt's `collect_freshness`), and the warehouse's `now()` once
- age:       the warehouse's clock minus the newest load, in seconds; no row passes the
             filter: loaded at 0001-01-01 UTC, "infinitely long ago" (so an error, or a warn
             when only warn_after is set); a timestamp without a zone is read as UTC
- status:    'error' when the age is over error_after, else 'warn' when over warn_after,
             else 'pass' (strictly over: an age of exactly 45 days is not over 45 days)
- record:    each source's status in audit.dbt_node_results under this run, as the dbt
             project's on-run-end hook (macros/record_node_results.sql) wrote it: the
             source's unique id, resource_type 'source', dbt's status word, the period var
- failing:   a source in error fails the check, a warn does not (`dbt source freshness`
             exits non-zero on an error only, and the task failed with it)
- described: each source's line for the log and the operators: its name, status and how
             old its newest load is, against its thresholds
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

# dbt's reading of a source with no row under its filter (dbt-adapters, base/impl.py).
NEVER_LOADED = datetime(1, 1, 1, tzinfo=UTC)

PASS, WARN, ERROR = "pass", "warn", "error"  # dbt's FreshnessStatus words


@dataclass(frozen=True)
class Threshold:
    """An age a source may not exceed: `count` minutes, hours or days."""

    count: int
    period: str  # minute | hour | day, as dbt's TimePeriod

    @property
    def seconds(self) -> float:
        return timedelta(**{f"{self.period}s": self.count}).total_seconds()

    def __str__(self) -> str:
        return f"{self.count} {self.period}{'s' if self.count != 1 else ''}"


@dataclass(frozen=True)
class FreshnessRule:
    """One source's freshness as the manifest declares it."""

    unique_id: str  # 'source.strategy_briefs.raw.load_audit_credit_card'
    name: str  # 'raw.load_audit_credit_card', as dbt's log names it
    schema: str
    identifier: str
    loaded_at_field: str  # a column of the table
    conditions: tuple[tuple[str, str], ...]  # its filter's (column, value) pairs
    warn_after: Threshold | None
    error_after: Threshold | None


@dataclass(frozen=True)
class SourceFreshness:
    """One source's answer: its newest load, the warehouse's clock, dbt's status word."""

    rule: FreshnessRule
    max_loaded_at: datetime | None  # None: no row passes the filter
    snapshotted_at: datetime
    age_seconds: float
    status: str


_CONDITION = re.compile(r"\s*(\w+)\s*=\s*'([^']*)'\s*")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
_COLUMN = re.compile(r"\w+")


class SourcesStale(RuntimeError):
    """A source is past its error_after: the check fails, as `dbt source freshness` did."""


def threshold(declared: Mapping[str, Any] | None) -> Threshold | None:
    """A warn_after or error_after of the manifest; None unless both count and period are set."""
    if not declared or declared.get("count") is None or declared.get("period") is None:
        return None
    return Threshold(count=int(declared["count"]), period=str(declared["period"]))


def filter_conditions(unique_id: str, declared: str | None) -> tuple[tuple[str, str], ...]:
    """The (column, value) pairs of a filter `a = 'x' and b = 'y'`; another filter is refused."""
    if not declared:
        return ()
    matches = [_CONDITION.fullmatch(part) for part in _AND.split(declared.strip())]
    if not all(matches):
        raise ValueError(
            f"{unique_id}: freshness filter {declared!r} is not conditions column = 'value'"
            " joined by and"
        )
    return tuple((match[1], match[2]) for match in matches)


def freshness_rules(sources: Mapping[str, Mapping[str, Any]]) -> list[FreshnessRule]:
    """The rules of every source in the manifest's `sources` that has a threshold."""
    rules = []
    for unique_id, source in sorted(sources.items()):
        declared = source.get("freshness") or {}
        warn_after, error_after = (
            threshold(declared.get("warn_after")),
            threshold(declared.get("error_after")),
        )
        if warn_after is None and error_after is None:
            continue
        if source.get("loaded_at_query") or not _COLUMN.fullmatch(
            source.get("loaded_at_field") or ""
        ):
            # PostgreSQL has no metadata freshness; dbt renders loaded_at_query as Jinja.
            raise ValueError(f"{unique_id}: freshness needs a loaded_at_field naming a column")
        rules.append(
            FreshnessRule(
                unique_id=unique_id,
                name=f"{source['source_name']}.{source['name']}",
                schema=source["schema"],
                identifier=source["identifier"],
                loaded_at_field=source["loaded_at_field"],
                conditions=filter_conditions(unique_id, declared.get("filter")),
                warn_after=warn_after,
                error_after=error_after,
            )
        )
    return rules


def freshness_query(rules: Sequence[FreshnessRule]):
    """One statement answering every rule: (unique_id, max_loaded_at, snapshotted_at) rows.

    The field, the filter's columns and the relation are identifiers, the filter's values
    literals (the manifest's relation_name also names the database of the parse, which is
    not necessarily this one)."""
    from psycopg import sql

    newest = [
        sql.SQL("select {} as unique_id, (select max({}) from {}.{}{}) as max_loaded_at").format(
            sql.Literal(rule.unique_id),
            sql.Identifier(rule.loaded_at_field),
            sql.Identifier(rule.schema),
            sql.Identifier(rule.identifier),
            _where(rule.conditions),
        )
        for rule in rules
    ]
    return sql.SQL(
        "select unique_id, max_loaded_at, now() as snapshotted_at from ({}) as newest"
    ).format(sql.SQL(" union all ").join(newest))


def _where(conditions: Sequence[tuple[str, str]]):
    """` where a = 'x' and b = 'y'` composed from the filter's pairs; nothing without any."""
    from psycopg import sql

    if not conditions:
        return sql.SQL("")
    tests = [sql.SQL("{} = {}").format(sql.Identifier(c), sql.Literal(v)) for c, v in conditions]
    return sql.SQL(" where ") + sql.SQL(" and ").join(tests)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def age_seconds(max_loaded_at: datetime | None, snapshotted_at: datetime) -> float:
    """How long before the warehouse's clock the newest load was (no load: dbt's year 1)."""
    newest = NEVER_LOADED if max_loaded_at is None else _utc(max_loaded_at)
    return (_utc(snapshotted_at) - newest).total_seconds()


def freshness_status(rule: FreshnessRule, age: float) -> str:
    """dbt's FreshnessThreshold.status: error first, then warn, strictly over the threshold."""
    if rule.error_after is not None and age > rule.error_after.seconds:
        return ERROR
    if rule.warn_after is not None and age > rule.warn_after.seconds:
        return WARN
    return PASS


def check_freshness(
    conn: psycopg.Connection, rules: Sequence[FreshnessRule]
) -> list[SourceFreshness]:
    """Every rule's answer from one query on the warehouse (no rule: nothing to ask)."""
    if not rules:
        return []
    by_id = {rule.unique_id: rule for rule in rules}
    rows = conn.execute(freshness_query(rules)).fetchall()
    answers = []
    for unique_id, max_loaded_at, snapshotted_at in rows:
        rule = by_id[unique_id]
        age = age_seconds(max_loaded_at, snapshotted_at)
        answers.append(
            SourceFreshness(rule, max_loaded_at, snapshotted_at, age, freshness_status(rule, age))
        )
    return answers


def record_freshness(
    conn: psycopg.Connection, answers: Sequence[SourceFreshness], period: str, run_id: str
) -> None:
    """Each answer in audit.dbt_node_results, as the on-run-end hook recorded dbt's (one
    invocation id for the check, like one dbt invocation's)."""
    invocation_id = str(uuid.uuid4())
    conn.cursor().executemany(
        "insert into audit.dbt_node_results (invocation_id, period, airflow_run_id,"
        " unique_id, resource_type, status, failures, message)"
        " values (%s, %s, %s, %s, 'source', %s, null, %s)",
        [
            (invocation_id, period, run_id, a.rule.unique_id, a.status, described(a))
            for a in answers
        ],
    )


def in_error(answers: Sequence[SourceFreshness]) -> list[SourceFreshness]:
    """The answers that fail the check: past error_after (a warn only warns)."""
    return [answer for answer in answers if answer.status == ERROR]


def described(answer: SourceFreshness) -> str:
    """'raw.load_audit_credit_card: error, newest load 50.0 days old (2026-10-17 20:41 UTC);
    warn after 35 days, error after 45 days'."""
    rule = answer.rule
    if answer.max_loaded_at is None:
        where = " and ".join(f"{column} = '{value}'" for column, value in rule.conditions)
        newest = "no load at all" + (f" where {where}" if where else "")
    else:
        at = _utc(answer.max_loaded_at).strftime("%Y-%m-%d %H:%M UTC")
        newest = f"newest load {answer.age_seconds / 86400:.1f} days old ({at})"
    limits = [
        f"{word} after {limit}"
        for word, limit in (("warn", rule.warn_after), ("error", rule.error_after))
        if limit is not None
    ]
    return f"{rule.name}: {answer.status}, {newest}; {', '.join(limits)}"
