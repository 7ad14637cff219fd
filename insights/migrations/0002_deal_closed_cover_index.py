"""A covering index for the insights engine's reads of closed deals.

Every diagnosis aggregates the closed deals of a few date ranges by segment. With the segment
fields, amount, status, cycle and rep in the index, PostgreSQL answers those range scans from
the index alone (an index-only scan) instead of visiting the wide deal rows: at a million deals
per tenant that halves the time of the main queries (docs/insights.md, "Performance"). Partial
on closed deals, so open deals' frequent updates never touch it. Built CONCURRENTLY (outside a
transaction) so writes to deals are not blocked while it builds on a large table. Lives here,
beside its only reader, rather than in the deals app.
"""

from django.db import migrations

INDEX = "insights_deal_closed_cover"


class Migration(migrations.Migration):
    atomic = False
    dependencies = [
        ("deals", "0001_initial"),
        ("insights", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON deals_deal (tenant_id, closed_date) "
                "INCLUDE (status, amount, sales_cycle_days, rep_id, industry, region, product_type, "
                "lead_source, stage, id) WHERE status IN ('won', 'lost')"
            ),
            reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}",
        ),
    ]
