"""CurrentScore.amount: the deal's amount at the time it was scored, backfilled from the deals.

The table forces row-level security, so the backfill runs tenant by tenant with
``app.tenant_id`` set for the migration's transaction only. Current scores whose deal is gone
(possible only after raw deletes; Django cascades) cannot be backfilled and are removed: no
page shows a score without its deal.
"""

from django.db import migrations, models


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        # Under FORCE RLS the owner sees no score without a tenant set: walk the tenants.
        cursor.execute("SELECT id FROM tenants_tenant ORDER BY id")
        for (tenant_id,) in cursor.fetchall():
            cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
            cursor.execute(
                """
                UPDATE scoring_currentscore c SET amount = d.amount
                FROM deals_deal d
                WHERE c.tenant_id = %s AND d.tenant_id = c.tenant_id AND d.id = c.deal_id
                """,
                [tenant_id],
            )
            cursor.execute(
                "DELETE FROM scoring_currentscore WHERE tenant_id = %s AND amount IS NULL", [tenant_id]
            )
        cursor.execute("SELECT set_config('app.tenant_id', '', true)")


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0002_deal_drop_redundant_fk_indexes"),
        ("scoring", "0004_current_score_probability_index"),
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="currentscore",
            name="amount",
            field=models.DecimalField(decimal_places=2, max_digits=16, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="currentscore",
            name="amount",
            field=models.DecimalField(decimal_places=2, max_digits=16),
        ),
    ]
