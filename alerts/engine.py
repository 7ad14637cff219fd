"""Turn one rule's candidate set into alert state changes, set-based.

A rule's query (alerts.rules) lists the subjects for which its condition holds now. This
module materialises that set once in a temporary table and, with a handful of statements over
the whole set (never one per deal):

- counts the candidates that already have an active alert (still open) and those whose last
  alert was resolved within the rule's cooldown (suppressed);
- auto-resolves active alerts of the rule whose subject is no longer a candidate;
- refreshes active alerts that still hold only where something changed: a snooze that has
  expired returns to open, and a changed severity brings the new evidence (so a rerun on the
  same day writes nothing);
- inserts an alert for every other candidate, relying on the partial unique index on
  (tenant, dedup_key) for active alerts so a concurrent or repeated run inserts nothing twice.

Runs inside the caller's tenant context (RLS applies to every statement).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from django.db import connection

from alerts.rules import CANDIDATE_COLUMNS, CandidateQuery

_CANDIDATES = "alert_candidates"
# The candidates whose alert is missing or changes severity: the only ones that need words.
_NEED_WORDS = "alert_candidates_need_words"
RUN_DEALS = "alert_run_deals"


@dataclass
class RuleOutcome:
    """What one rule did in one run. ``evaluated`` is False when the rule was off or had no data."""

    kind: str
    evaluated: bool = True
    candidates: int = 0
    created: int = 0
    suppressed: int = 0
    still_open: int = 0
    resolved: int = 0
    unsnoozed: int = 0
    note: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def run_deals_start() -> None:
    """Start collecting the deals that any rule flags in this run (see :func:`run_deals_count`)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{RUN_DEALS}")
        cursor.execute(f"CREATE TEMP TABLE {RUN_DEALS} (deal_id bigint) ON COMMIT DROP")


def run_deals_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(DISTINCT deal_id) FROM {RUN_DEALS}")
        return int(cursor.fetchone()[0])


def candidates_apply(
    *,
    tenant_id: int,
    rule_id: int,
    kind: str,
    cooldown_days: int,
    query: CandidateQuery,
    as_of: dt.date,
    now: dt.datetime,
) -> RuleOutcome:
    """Apply the rule's candidate set to its alerts; returns the counts. See the module docstring.

    A few statements whatever the number of deals: the candidate query into a temporary table
    (see :func:`_candidates_with_lazy_words`), then one statement whose data-modifying CTEs
    resolve, refresh and insert against one read of the rule's active alerts.
    """
    params = {
        "tenant_id": tenant_id,
        "rule_id": rule_id,
        "kind": kind,
        "as_of": as_of,
        "now": now,
        "cooldown_start": now - dt.timedelta(days=cooldown_days),
    }
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{_CANDIDATES}")
        for statement in query.setup:
            cursor.execute(statement, query.params)
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM alerts_alert WHERE tenant_id = %s AND kind = %s"
            " AND NOT (state = 'resolved'))",
            [tenant_id, kind],
        )
        if cursor.fetchone()[0]:
            _candidates_with_lazy_words(cursor, query=query, tenant_id=tenant_id, kind=kind)
        else:
            columns = ", ".join(CANDIDATE_COLUMNS)
            cursor.execute(
                f"CREATE TEMP TABLE {_CANDIDATES} ({columns}) ON COMMIT DROP AS {query.sql}", query.params
            )
            _candidates_analyze(cursor)
        cursor.execute(f"INSERT INTO {RUN_DEALS} SELECT deal_id FROM {_CANDIDATES} WHERE deal_id IS NOT NULL")
        cursor.execute(_APPLY_SQL, params)
        row = cursor.fetchone()
        cursor.execute(f"DROP TABLE {_CANDIDATES}")
    candidates, still_open, suppressed, resolved, unsnoozed, created = (int(value) for value in row)
    return RuleOutcome(
        kind=kind,
        candidates=candidates,
        created=created,
        suppressed=suppressed,
        still_open=still_open,
        resolved=resolved,
        unsnoozed=unsnoozed,
    )


def _candidates_analyze(cursor: Any) -> None:
    """Give the candidate table statistics before anything joins it.

    The statements that follow join the candidates to the rule's alerts (and, for words, to
    the rule's query again). A table that was never analyzed has no statistics, and a
    candidate query whose filter the planner cannot estimate reports a handful of rows; either
    could make a nested loop over tens of thousands of candidates. ANALYZE samples at most
    30,000 rows; only the key columns, since statistics of the words and evidence (long text,
    JSON) cost most of a second at 80,000 candidates and no plan uses them.
    """
    cursor.execute(f"ANALYZE {_CANDIDATES} (dedup_key, deal_id, severity)")


_KEY_COLUMNS = ("dedup_key", "deal_id", "segment_dimension", "segment_value", "severity")


def _candidates_with_lazy_words(cursor: Any, *, query: CandidateQuery, tenant_id: int, kind: str) -> None:
    """Fill the candidate table, building words and evidence only where they will be written.

    Most candidates of a daily run already have their alert, unchanged; formatting a sentence
    and a JSON document for each of them is most of a rule's cost. So the rule's query runs
    once for keys and severities (PostgreSQL does not compute the unused columns of a
    subquery), then again, filtered to the candidates with no active alert or a new severity,
    for title, summary and evidence — and not at all when there are none.
    """
    cursor.execute(
        f"""
        CREATE TEMP TABLE {_CANDIDATES} ON COMMIT DROP AS
        SELECT {", ".join(f"q.{column}" for column in _KEY_COLUMNS)},
               NULL::text AS title, NULL::text AS summary, NULL::jsonb AS evidence
        FROM ({query.sql}) AS q ({", ".join(CANDIDATE_COLUMNS)})
        """,
        query.params,
    )
    _candidates_analyze(cursor)
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{_NEED_WORDS}")
    cursor.execute(
        f"""
        CREATE TEMP TABLE {_NEED_WORDS} ON COMMIT DROP AS
        SELECT n.dedup_key, n.deal_id FROM {_CANDIDATES} n
        WHERE NOT EXISTS (
            SELECT 1 FROM alerts_alert a
            WHERE a.tenant_id = %(engine_tenant_id)s AND a.kind = %(engine_kind)s
              AND NOT (a.state = 'resolved') AND a.dedup_key = n.dedup_key
              AND a.severity = n.severity)
        """,
        {"engine_tenant_id": tenant_id, "engine_kind": kind},
    )
    cursor.execute(
        f"SELECT count(*), array_agg(deal_id) FILTER (WHERE deal_id IS NOT NULL) FROM {_NEED_WORDS}"
    )
    needed, deal_ids = cursor.fetchone()
    if not needed:
        # Every candidate already has its alert at this severity (a steady day, a rerun): the
        # second pass over the rule's query would build words for nothing.
        cursor.execute(f"DROP TABLE {_NEED_WORDS}")
        return
    cursor.execute(f"ANALYZE {_NEED_WORDS}")
    # Deal rules: the deal ids as a plain array qual, which PostgreSQL pushes down into the
    # rule's query (a semi-join or a sub-select would not be), so the second pass reads these
    # deals through the primary key instead of every open deal again.
    by_deal = deal_ids is not None and len(deal_ids) == needed
    cursor.execute(
        f"""
        UPDATE {_CANDIDATES} c
           SET title = w.title, summary = w.summary, evidence = w.evidence
          FROM (
                SELECT q.dedup_key, q.title, q.summary, q.evidence
                FROM ({query.sql}) AS q ({", ".join(CANDIDATE_COLUMNS)})
                WHERE q.dedup_key IN (SELECT n.dedup_key FROM {_NEED_WORDS} n)
                  {"AND q.deal_id = ANY(%(engine_deal_ids)s::bigint[])" if by_deal else ""}
               ) w
         WHERE c.dedup_key = w.dedup_key
        """,
        {**query.params, "engine_deal_ids": deal_ids},
    )
    cursor.execute(f"DROP TABLE {_NEED_WORDS}")


# Dedup keys start with the rule's kind, so "same kind" and "same rule" select the same alerts;
# the kind leads an index.
_APPLY_SQL = f"""
    WITH active AS MATERIALIZED (
        SELECT a.id, a.dedup_key, a.state, a.snoozed_until, a.severity
        FROM alerts_alert a
        WHERE a.tenant_id = %(tenant_id)s AND a.kind = %(kind)s AND NOT (a.state = 'resolved')
    ),
    matched AS MATERIALIZED (
        SELECT c.dedup_key, c.severity, c.title, c.summary, c.evidence,
               act.id AS alert_id, act.state AS alert_state, act.snoozed_until,
               act.severity AS alert_severity
        FROM {_CANDIDATES} c JOIN active act ON act.dedup_key = c.dedup_key
    ),
    cooling AS MATERIALIZED (
        SELECT DISTINCT r.dedup_key
        FROM alerts_alert r JOIN {_CANDIDATES} c ON c.dedup_key = r.dedup_key
        WHERE r.tenant_id = %(tenant_id)s AND r.kind = %(kind)s AND r.state = 'resolved'
          AND r.resolved_at > %(cooldown_start)s
    ),
    fresh AS MATERIALIZED (
        SELECT c.*, EXISTS (SELECT 1 FROM cooling k WHERE k.dedup_key = c.dedup_key) AS in_cooldown
        FROM {_CANDIDATES} c
        WHERE NOT EXISTS (SELECT 1 FROM active act WHERE act.dedup_key = c.dedup_key)
    ),
    resolved AS (
        UPDATE alerts_alert a
           SET state = 'resolved', resolved_at = %(now)s, resolved_automatically = true,
               snoozed_until = NULL
          FROM active act
         WHERE a.id = act.id
           AND NOT EXISTS (SELECT 1 FROM {_CANDIDATES} c WHERE c.dedup_key = act.dedup_key)
        RETURNING a.id
    ),
    refreshed AS (
        UPDATE alerts_alert a
           SET state = CASE WHEN m.alert_state = 'snoozed' AND m.snoozed_until <= %(now)s
                            THEN 'open' ELSE a.state END,
               snoozed_until = CASE WHEN m.alert_state = 'snoozed' AND m.snoozed_until <= %(now)s
                                    THEN NULL ELSE a.snoozed_until END,
               severity = m.severity,
               title = CASE WHEN m.alert_severity <> m.severity THEN left(m.title, 300) ELSE a.title END,
               summary = CASE WHEN m.alert_severity <> m.severity THEN m.summary ELSE a.summary END,
               evidence = CASE WHEN m.alert_severity <> m.severity THEN m.evidence ELSE a.evidence END
          FROM matched m
         WHERE a.id = m.alert_id
           AND (m.alert_severity <> m.severity
                OR (m.alert_state = 'snoozed' AND m.snoozed_until <= %(now)s))
        RETURNING (m.alert_state = 'snoozed' AND m.snoozed_until <= %(now)s) AS unsnoozed
    ),
    inserted AS (
        INSERT INTO alerts_alert
            (tenant_id, rule_id, kind, deal_id, segment_dimension, segment_value, dedup_key,
             severity, title, summary, evidence, state, raised_on, created_at,
             resolved_automatically)
        SELECT %(tenant_id)s, %(rule_id)s, %(kind)s, f.deal_id, f.segment_dimension,
               f.segment_value, f.dedup_key, f.severity, left(f.title, 300), f.summary,
               f.evidence, 'open', %(as_of)s, %(now)s, false
          FROM fresh f
         WHERE NOT f.in_cooldown
        ON CONFLICT (tenant_id, dedup_key) WHERE NOT (state = 'resolved') DO NOTHING
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM {_CANDIDATES}),
           (SELECT count(*) FROM matched),
           (SELECT count(*) FROM fresh WHERE in_cooldown),
           (SELECT count(*) FROM resolved),
           (SELECT count(*) FROM refreshed WHERE unsnoozed),
           (SELECT count(*) FROM inserted)
"""
