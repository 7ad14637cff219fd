"""The bulk-written score tables carry only the indexes their reads need (write cost per row),
and the history's ids come in per-connection blocks."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _indexes(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return {row[0].split(" USING btree ")[1] for row in cursor.fetchall()}


def _foreign_keys(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'", [table]
        )
        return cursor.fetchone()[0]


def test_the_score_history_has_its_primary_key_and_one_index_led_by_tenant_and_day() -> None:
    # By day before deal, so a pass appends to its day's stretch of the index instead of
    # inserting next to each deal's earlier rows (docs/scoring.md, "History indexed by day").
    assert _indexes("scoring_dealscore") == {
        "(id)",
        "(tenant_id, (((scored_at AT TIME ZONE 'UTC'::text))::date), deal_id, scored_at)",
    }
    assert _foreign_keys("scoring_dealscore") == 0


def test_current_scores_are_keyed_by_tenant_and_deal_and_ranked_without_a_probability_index() -> None:
    # No index contains probability, so a pass that changes every probability updates in place
    # (HOT); only the riskiest and the safest deals' ranks are indexed (docs/scoring.md, "Performance").
    assert _indexes("scoring_currentscore") == {
        "(tenant_id, deal_id)",
        "(tenant_id, risk_rank) WHERE (risk_rank IS NOT NULL)",
        "(tenant_id, safe_rank) WHERE (safe_rank IS NOT NULL)",
    }
    assert _foreign_keys("scoring_currentscore") == 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'scoring_currentscore'")
        assert cursor.fetchone()[0] == ["fillfactor=45"]


def test_history_ids_are_handed_out_a_thousand_at_a_time_per_connection() -> None:
    # Two chunks of a pass then fill their own primary-key leaves instead of queueing on one.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cache_size FROM pg_sequences WHERE schemaname || '.' || sequencename"
            " = pg_get_serial_sequence('scoring_dealscore', 'id')"
        )
        assert cursor.fetchone() == (1_000,)
