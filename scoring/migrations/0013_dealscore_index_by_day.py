"""The score history is indexed by (tenant, UTC day, deal, scored_at) instead of (tenant, deal,
scored_at).

With a deal's rows side by side in the index, a pass that rescores every deal inserts each row
next to that deal's earlier ones: with a month of daily passes behind it, the 1M-deal bench
tenant's daily pass touched a leaf page per few deals of a 1.2 GB index (and wrote each page in
full to the WAL after a checkpoint), and its history insert took 4.8-10.5 s against 2.3-2.6 s on
an empty history. Keyed by day first, a pass appends its rows at the end of its day's stretch,
whatever the history's length. A deal's scores are found by PostgreSQL 18's skip scan, one
descent per day the tenant has history (docs/scoring.md, "History indexed by day").

Both indexes are built and dropped CONCURRENTLY (outside a transaction): on a large history the
build takes a while (24 s for 32 M rows on the bench machine, 28 s back), and scoring passes keep
writing meanwhile. The new index is built before the old one is dropped, so reads always have
one.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

import scoring.models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("deals", "0004_deal_amount_float_statistics"),
        ("scoring", "0012_currentscore_fillfactor_45"),
        ("tenants", "0002_tenant_quarterly_quota"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="dealscore",
            index=models.Index(
                models.F("tenant"),
                scoring.models.UtcDate("scored_at"),
                models.F("deal"),
                models.F("scored_at"),
                name="dealscore_tenant_day_deal",
            ),
        ),
        RemoveIndexConcurrently(model_name="dealscore", name="dealscore_tenant_deal_time"),
    ]
