"""CurrentScore.risk_rank replaces the (tenant, probability) index, and the table gets fillfactor 60.

With ``probability`` out of every index, and room left on each page, a daily pass that changes
every probability updates its rows in place (HOT) instead of writing a new row and two index
entries per deal (docs/scoring.md, "Performance"). Existing scores are ranked tenant by tenant
(row-level security is forced, so ``app.tenant_id`` is set for the migration's transaction
only): the 10,000 lowest probabilities of each tenant (scoring.services.RISK_RANKED at the
time of writing). Existing pages keep their old fill until rewritten; new pages get 60%.
"""

from django.db import migrations, models

RANKED = 10_000


def rank_existing(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenants_tenant ORDER BY id")
        for (tenant_id,) in cursor.fetchall():
            cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
            cursor.execute(
                """
                UPDATE scoring_currentscore c SET risk_rank = c.probability
                FROM (SELECT deal_id FROM scoring_currentscore WHERE tenant_id = %(tenant)s
                      ORDER BY probability, deal_id LIMIT %(ranked)s) r
                WHERE c.tenant_id = %(tenant)s AND c.deal_id = r.deal_id
                """,
                {"tenant": tenant_id, "ranked": RANKED},
            )
        cursor.execute("SELECT set_config('app.tenant_id', '', true)")


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0007_driver_entries"),
        ("tenants", "0002_tenant_quarterly_quota"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="currentscore", name="currentscore_tenant_prob"),
        migrations.AddField(
            model_name="currentscore",
            name="risk_rank",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.RunPython(rank_existing, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="currentscore",
            index=models.Index(
                condition=models.Q(("risk_rank__isnull", False)),
                fields=["tenant", "risk_rank"],
                name="currentscore_tenant_rank",
            ),
        ),
        migrations.RunSQL(
            "ALTER TABLE scoring_currentscore SET (fillfactor = 60)",
            "ALTER TABLE scoring_currentscore RESET (fillfactor)",
        ),
    ]
