"""Turn one rule's candidate set into alert state changes, set-based.

A rule's query (alerts.rules) lists the subjects for which its condition holds now. This
module materialises that set once in a temporary table and, with a handful of statements over
the whole set (never one per deal):

- counts the candidates that already have an active alert (still open) and those whose last
  alert was resolved within the rule's cooldown (suppressed);
- auto-resolves active alerts of the rule whose subject is no longer a candidate;
- refreshes active alerts that still hold: last seen date, a snooze that has expired returns
  to open, and a changed severity brings the new evidence;
- inserts an alert for every other candidate, relying on the partial unique index on
  (tenant, dedup_key) for active alerts so a concurrent or repeated run inserts nothing twice.

Runs inside the caller's tenant context (RLS applies to every statement).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.db import connection

from alerts.rules import CANDIDATE_COLUMNS, CandidateQuery

_CANDIDATES = "alert_candidates"
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
    """Apply the rule's candidate set to its alerts; returns the counts. See the module docstring."""
    outcome = RuleOutcome(kind=kind)
    params = {
        "tenant_id": tenant_id,
        "rule_id": rule_id,
        "kind": kind,
        "as_of": as_of,
        "now": now,
        "cooldown_start": now - dt.timedelta(days=cooldown_days),
    }
    columns = ", ".join(CANDIDATE_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{_CANDIDATES}")
        cursor.execute(
            f"CREATE TEMP TABLE {_CANDIDATES} ({columns}) ON COMMIT DROP AS {query.sql}", query.params
        )
        # Temporary tables are never auto-analysed; the planner needs the row count.
        cursor.execute(f"ANALYZE {_CANDIDATES}")
        cursor.execute(f"INSERT INTO {RUN_DEALS} SELECT deal_id FROM {_CANDIDATES} WHERE deal_id IS NOT NULL")
        cursor.execute(
            f"""
            SELECT count(*),
                   count(*) FILTER (WHERE active.dedup_key IS NOT NULL),
                   count(*) FILTER (WHERE active.dedup_key IS NULL AND cooling.dedup_key IS NOT NULL),
                   count(*) FILTER (WHERE active.state = 'snoozed' AND active.snoozed_until <= %(now)s)
            FROM {_CANDIDATES} c
            LEFT JOIN alerts_alert active
                   ON active.tenant_id = %(tenant_id)s AND active.dedup_key = c.dedup_key
                  AND NOT (active.state = 'resolved')
            LEFT JOIN LATERAL (
                SELECT r.dedup_key FROM alerts_alert r
                 WHERE r.tenant_id = %(tenant_id)s AND r.dedup_key = c.dedup_key
                   AND r.state = 'resolved' AND r.resolved_at > %(cooldown_start)s
                 LIMIT 1
            ) cooling ON true
            """,
            params,
        )
        (outcome.candidates, outcome.still_open, outcome.suppressed, outcome.unsnoozed) = cursor.fetchone()

        cursor.execute(
            f"""
            UPDATE alerts_alert a
               SET state = 'resolved', resolved_at = %(now)s, resolved_automatically = true,
                   snoozed_until = NULL
             WHERE a.tenant_id = %(tenant_id)s AND a.rule_id = %(rule_id)s
               AND NOT (a.state = 'resolved')
               AND NOT EXISTS (SELECT 1 FROM {_CANDIDATES} c WHERE c.dedup_key = a.dedup_key)
            """,
            params,
        )
        outcome.resolved = cursor.rowcount

        cursor.execute(
            f"""
            UPDATE alerts_alert a
               SET last_seen_on = %(as_of)s,
                   state = CASE WHEN a.state = 'snoozed' AND a.snoozed_until <= %(now)s
                                THEN 'open' ELSE a.state END,
                   snoozed_until = CASE WHEN a.state = 'snoozed' AND a.snoozed_until <= %(now)s
                                        THEN NULL ELSE a.snoozed_until END,
                   severity = c.severity,
                   title = CASE WHEN a.severity <> c.severity THEN c.title ELSE a.title END,
                   summary = CASE WHEN a.severity <> c.severity THEN c.summary ELSE a.summary END,
                   evidence = CASE WHEN a.severity <> c.severity THEN c.evidence ELSE a.evidence END
              FROM {_CANDIDATES} c
             WHERE a.tenant_id = %(tenant_id)s AND a.rule_id = %(rule_id)s
               AND a.dedup_key = c.dedup_key AND NOT (a.state = 'resolved')
               AND (a.last_seen_on < %(as_of)s OR a.severity <> c.severity
                    OR (a.state = 'snoozed' AND a.snoozed_until <= %(now)s))
            """,
            params,
        )

        cursor.execute(
            f"""
            INSERT INTO alerts_alert
                (tenant_id, rule_id, kind, deal_id, segment_dimension, segment_value, dedup_key,
                 severity, title, summary, evidence, state, raised_on, last_seen_on, created_at,
                 resolved_automatically)
            SELECT %(tenant_id)s, %(rule_id)s, %(kind)s, c.deal_id, c.segment_dimension,
                   c.segment_value, c.dedup_key, c.severity, left(c.title, 300), c.summary,
                   c.evidence, 'open', %(as_of)s, %(as_of)s, %(now)s, false
              FROM {_CANDIDATES} c
             WHERE NOT EXISTS (
                   SELECT 1 FROM alerts_alert a
                    WHERE a.tenant_id = %(tenant_id)s AND a.dedup_key = c.dedup_key
                      AND (NOT (a.state = 'resolved') OR a.resolved_at > %(cooldown_start)s))
            ON CONFLICT (tenant_id, dedup_key) WHERE NOT (state = 'resolved') DO NOTHING
            """,
            params,
        )
        outcome.created = cursor.rowcount
        cursor.execute(f"DROP TABLE {_CANDIDATES}")
    return outcome
