"""CurrentScore.safe_rank: the probability of the tenant's safest deals, under its own partial index.

The risk board's safest-first order walks it as riskiest first walks ``risk_rank`` (migration
0008), instead of sorting every unranked score (docs/ui.md, "Risk board performance").
Existing scores are ranked tenant by tenant (row-level security is forced, so ``app.tenant_id``
is set for the migration's transaction only): the 10,000 highest probabilities among each
tenant's scores without a risk rank (scoring.services.RISK_RANKED at the time of writing), ties
included, as a full scoring pass ranks them.
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
                UPDATE scoring_currentscore c SET safe_rank = c.probability
                WHERE c.tenant_id = %(tenant)s AND c.risk_rank IS NULL
                  AND c.probability >= COALESCE(
                      (SELECT probability FROM scoring_currentscore
                       WHERE tenant_id = %(tenant)s AND risk_rank IS NULL
                       ORDER BY probability DESC OFFSET %(offset)s LIMIT 1),
                      '-infinity')
                """,
                {"tenant": tenant_id, "offset": RANKED - 1},
            )
        cursor.execute("SELECT set_config('app.tenant_id', '', true)")


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0008_current_score_risk_rank"),
        ("tenants", "0002_tenant_quarterly_quota"),
    ]

    operations = [
        migrations.AddField(
            model_name="currentscore",
            name="safe_rank",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.RunPython(rank_existing, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="currentscore",
            index=models.Index(
                condition=models.Q(("safe_rank__isnull", False)),
                fields=["tenant", "safe_rank"],
                name="currentscore_tenant_safe",
            ),
        ),
    ]
