"""Statistics on ``amount::float8`` for amount ranges under row-level security.

With RLS on, PostgreSQL applies column statistics only through leakproof operators; numeric
comparisons are not leakproof, so an amount range was estimated at about one row and the API
list scanned the tenant's whole index. The API compares amounts as double precision when that
is exact (api.filters.AmountFilter); these expression statistics give the planner that
column's distribution. Measured in docs/api.md.
"""

from django.db import migrations

STATISTICS = "deal_amount_float"


class Migration(migrations.Migration):
    dependencies = [("deals", "0003_deal_board_api_indexes")]

    operations = [
        migrations.RunSQL(
            sql=[
                f"CREATE STATISTICS {STATISTICS} ON ((amount::float8)) FROM deals_deal",
                "ANALYZE deals_deal",
            ],
            reverse_sql=[f"DROP STATISTICS IF EXISTS {STATISTICS}"],
        ),
    ]
