"""Benchmark: the daily alert checks over 1,000,000 open deals in one tenant (target: under 10 s).

Runs against a separate database (default ``bench_alerts`` on the embedded server, or
``DATABASE_URL`` when set). The first run loads the demo generator's deals — 1,000,000 open
(8% of them planted stalls) and 60,000 closed with their stage history, which set the
thresholds — with COPY, then ANALYZEs; later runs reuse them. Then it times, each in its own
transaction like the Celery task:

1. the first daily run (every stalled deal gets its alerts: 160,000 inserted);
2. the next day's run after 2% of the open deals had their expected close date pushed out
   (recorded by the trigger on deals_deal) and 1% were rescored 20 points lower (every open
   deal carries a score, written set-based like a batch scoring run): the steady state, where
   alerts exist and a few slips and score drops are new;
3. the same day again (idempotence: nothing is written).

    .venv/bin/python bench/checks_bench.py [--open-deals 1000000] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from diagnose_bench import _copy_frame, _database_url, deal_rows_frame  # noqa: E402 (one COPY helper for every bench)

ANCHOR = dt.date(2025, 11, 15)
CLOSED_DEALS = 60_000
PUSHED_SHARE = 0.02


def load(*, tenant_id: int, open_deals: int) -> None:
    """Replace the tenant's deals with the demo generator's (open and closed) via COPY."""
    import pandas as pd
    from django.db import connection

    from alerts.models import Alert, CloseDateChange
    from deals.demo import generate_deals, generate_stage_history
    from deals.models import Deal, DealStageChange, Rep

    frame = generate_deals(seed=5, anchor=ANCHOR, n_closed=CLOSED_DEALS, n_open=open_deals)
    Alert.objects.all().delete()
    CloseDateChange.objects.all().delete()
    DealStageChange.objects.all().delete()
    Deal.objects.all().delete()
    Rep.objects.all().delete()
    reps = Rep.objects.bulk_create(
        [Rep(tenant_id=tenant_id, crm_id=crm_id) for crm_id in sorted(frame["sales_rep_id"].unique())]
    )
    rep_ids = {rep.crm_id: rep.pk for rep in reps}
    now = dt.datetime.now(dt.UTC).isoformat()
    deals = deal_rows_frame(frame, tenant_id=tenant_id, rep_ids=rep_ids)
    with connection.cursor() as cursor:
        _copy_frame(cursor.cursor, "deals_deal", list(deals.columns), deals)
        cursor.execute("SELECT crm_id, id FROM deals_deal WHERE tenant_id = %s", [tenant_id])
        ids = dict(cursor.fetchall())
        # Thresholds come from won deals' history; open deals carry stage_entered_date.
        history = generate_stage_history(frame[frame["outcome"] != ""])
        changes = pd.DataFrame(
            {
                "tenant_id": tenant_id,
                "deal_id": history["deal_id"].map(ids),
                "from_stage": history["from_stage"],
                "to_stage": history["to_stage"],
                "changed_on": history["changed_on"].dt.date,
                "source": "bench",
                "recorded_at": now,
            }
        )
        _copy_frame(cursor.cursor, "deals_dealstagechange", list(changes.columns), changes)
        cursor.execute("ANALYZE deals_deal")
        cursor.execute("ANALYZE deals_dealstagechange")


SCORED_AT = dt.datetime.combine(ANCHOR - dt.timedelta(days=20), dt.time(9), tzinfo=dt.UTC)
DROPPED_SHARE = 0.01
# scoring.drivers.BAND_CUTOFFS, as SQL.
BAND_SQL = (
    "CASE WHEN {p} >= 0.5 THEN 'low' WHEN {p} >= 0.3 THEN 'medium' WHEN {p} >= 0.15 THEN 'high' "
    "ELSE 'critical' END"
)
DRIVERS = [{"feature": "lead_source", "label": "Partner lead source", "value": -0.4}]


def _driver_ids(cursor, tenant_id: int) -> list[int]:
    from scoring.services import driver_entry_ids

    return driver_entry_ids(cursor, tenant_id=tenant_id, entries=DRIVERS)


def scores_reset(*, tenant_id: int) -> None:
    """Give every open deal one score, as a batch scoring run would (set-based, no model needed).

    Probabilities spread over 0.05–0.94 by deal id; the score was taken 20 days before ANCHOR,
    so nothing has dropped recently.
    """
    from django.db import connection

    from scoring.models import ModelVersion

    with connection.cursor() as cursor:
        for table in ("scoring_currentscore", "scoring_dealscore"):
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant_id])
    ModelVersion.objects.all().delete()
    version = ModelVersion.objects.create(serving="model", promoted=True, is_active=True)
    probability = "(0.05 + (d.id %% 90) / 100.0)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO scoring_dealscore
                (tenant_id, deal_id, model_version_id, probability, band, driver_ids, trigger, scored_at)
            SELECT d.tenant_id, d.id, %s, {probability}, {BAND_SQL.format(p=probability)}, %s::int[],
                   'batch', %s
            FROM deals_deal d WHERE d.tenant_id = %s AND d.status = 'open'
            """,
            [version.pk, _driver_ids(cursor, tenant_id), SCORED_AT, tenant_id],
        )
        cursor.execute(
            """
            INSERT INTO scoring_currentscore
                (tenant_id, deal_id, score_id, model_version_id, probability, band, amount,
                 previous_probability, previous_band, scored_at)
            SELECT s.tenant_id, s.deal_id, s.id, s.model_version_id, s.probability, s.band, d.amount,
                   NULL, '', s.scored_at
            FROM scoring_dealscore s JOIN deals_deal d ON d.tenant_id = s.tenant_id AND d.id = s.deal_id
            WHERE s.tenant_id = %s
            """,
            [tenant_id],
        )


def scores_drop(*, tenant_id: int, on: dt.datetime) -> None:
    """Rescore DROPPED_SHARE of the open deals 20 points lower, as event-driven rescoring would."""
    from django.db import connection

    new = "greatest(cs.probability - 0.20, 0.01)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH rescored AS (
                INSERT INTO scoring_dealscore
                    (tenant_id, deal_id, model_version_id, probability, band, driver_ids, trigger, scored_at)
                SELECT cs.tenant_id, cs.deal_id, cs.model_version_id, {new}, {BAND_SQL.format(p=new)},
                       %s::int[], 'event', %s
                FROM scoring_currentscore cs
                WHERE cs.tenant_id = %s AND cs.deal_id %% %s = 1
                RETURNING id, deal_id, probability, band
            )
            UPDATE scoring_currentscore cs
               SET previous_probability = cs.probability, previous_band = cs.band,
                   probability = r.probability, band = r.band, score_id = r.id, scored_at = %s
              FROM rescored r
             WHERE cs.tenant_id = %s AND cs.deal_id = r.deal_id
            """,
            [_driver_ids(cursor, tenant_id), on, tenant_id, round(1 / DROPPED_SHARE), on, tenant_id],
        )


def timed_run(*, tenant: object, as_of: dt.date) -> tuple[float, dict[str, object]]:
    from alerts.services import alert_checks_run
    from tenants.context import tenant_context

    started = time.perf_counter()
    with tenant_context(tenant):  # type: ignore[arg-type]
        report = alert_checks_run(as_of=as_of)
    return time.perf_counter() - started, report.as_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open-deals", type=int, default=1_000_000)
    parser.add_argument("--database", default="bench_alerts")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesintel.settings")
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = _database_url(args.database)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from alerts.models import Alert, CloseDateChange, ScheduledRun
    from deals.models import Deal
    from tenants.context import tenant_context
    from tenants.services import tenant_create

    call_command("migrate", verbosity=0)
    tenant = tenant_create(slug=f"bench-open-{args.open_deals}", name=f"Bench {args.open_deals:,} open deals")
    with tenant_context(tenant):
        if Deal.objects.filter(status="open").count() != args.open_deals:
            started = time.perf_counter()
            load(tenant_id=tenant.pk, open_deals=args.open_deals)
            print(f"loaded deals in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        # Every timing starts from the same state: no alerts, no close-date changes.
        Alert.objects.all().delete()
        ScheduledRun.objects.all().delete()
        with connection.cursor() as cursor:
            # Undo the previous run's pushes, so the expected close dates are the generator's again.
            cursor.execute(
                "UPDATE deals_deal SET expected_close_date = expected_close_date - 30 "
                "WHERE tenant_id = %s AND status = 'open' AND extra ? 'bench_pushed'",
                [tenant.pk],
            )
            cursor.execute(
                "UPDATE deals_deal SET extra = '{}' WHERE tenant_id = %s AND extra ? 'bench_pushed'",
                [tenant.pk],
            )
        CloseDateChange.objects.all().delete()
        scores_reset(tenant_id=tenant.pk)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE scoring_dealscore")
        cursor.execute("VACUUM ANALYZE scoring_currentscore")
        cursor.execute("VACUUM ANALYZE alerts_alert")
        cursor.execute("VACUUM ANALYZE alerts_closedatechange")
        cursor.execute("VACUUM ANALYZE deals_deal")

    # A worker imports these once at start; a timing should not include pandas' and scipy's import.
    import insights.selectors
    import insights.services  # noqa: F401

    first_s, first = timed_run(tenant=tenant, as_of=ANCHOR)
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE deals_deal SET expected_close_date = expected_close_date + 30, "
            "extra = '{\"bench_pushed\": true}', updated_at = now() "
            "WHERE tenant_id = %s AND status = 'open' AND id %% %s = 0",
            [tenant.pk, round(1 / PUSHED_SHARE)],
        )
        # The trigger stamps the changes with the real clock; date them on the benchmark's next day.
        cursor.execute(
            "UPDATE alerts_closedatechange SET changed_at = %s WHERE tenant_id = %s",
            [dt.datetime.combine(ANCHOR + dt.timedelta(days=1), dt.time(9), tzinfo=dt.UTC), tenant.pk],
        )
        scores_drop(
            tenant_id=tenant.pk,
            on=dt.datetime.combine(ANCHOR + dt.timedelta(days=1), dt.time(8), tzinfo=dt.UTC),
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE alerts_alert")
        cursor.execute("ANALYZE alerts_closedatechange")
        cursor.execute("ANALYZE scoring_currentscore")
    next_day = ANCHOR + dt.timedelta(days=1)
    second_s, second = timed_run(tenant=tenant, as_of=next_day)
    again_s, again = timed_run(tenant=tenant, as_of=next_day)

    result = {
        "benchmark": "alerts daily checks",
        "open_deals": first["open_deals_checked"],
        "first_run_s": round(first_s, 2),
        "next_day_run_s": round(second_s, 2),
        "same_day_rerun_s": round(again_s, 2),
        "target_s": 10.0,
        "first_run": {kind: outcome["created"] for kind, outcome in first["rules"].items()},  # type: ignore[union-attr]
        "next_day_created": {kind: outcome["created"] for kind, outcome in second["rules"].items()},  # type: ignore[union-attr]
        "rerun_created": again["created"],
        "seconds_per_rule": {
            name: {kind: outcome["seconds"] for kind, outcome in run["rules"].items()}  # type: ignore[union-attr]
            for name, run in (("first", first), ("next_day", second), ("rerun", again))
        },
        "share_alerted_first_run": first["share_alerted"],
        "load_average": Path("/proc/loadavg").read_text().split()[:3],
        "cores": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"daily checks over {result['open_deals']:,} open deals: first run {result['first_run_s']} s, "
            f"next day {result['next_day_run_s']} s, "
            f"same-day rerun {result['same_day_rerun_s']} s (target 10 s)\n"
            f"  alerts created on the first run: {result['first_run']} "
            f"({result['share_alerted_first_run']:.1%} of open deals flagged)\n"
            f"  created the next day: {result['next_day_created']}; on the rerun: {result['rerun_created']}\n"
            f"  seconds per rule: {result['seconds_per_rule']}\n"
            f"  load average {' '.join(result['load_average'])} on {result['cores']} cores"
        )


if __name__ == "__main__":
    main()
