"""ModelVersion.number: versions are numbered per tenant (v1, v2, …), not by the global id.

Shown as "v3" on every page, the global id told a tenant how many versions other tenants had
trained, and a new tenant's first model was not v1. Existing versions are numbered tenant by
tenant in creation order (row-level security is forced, so ``app.tenant_id`` is set for the
migration's transaction only).
"""

from django.db import migrations, models


def number_existing(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenants_tenant ORDER BY id")
        for (tenant_id,) in cursor.fetchall():
            cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
            cursor.execute(
                """
                UPDATE scoring_modelversion v SET number = n.number
                FROM (SELECT id, row_number() OVER (ORDER BY id) AS number
                      FROM scoring_modelversion WHERE tenant_id = %(tenant)s) n
                WHERE v.id = n.id AND v.tenant_id = %(tenant)s
                """,
                {"tenant": tenant_id},
            )
        cursor.execute("SELECT set_config('app.tenant_id', '', true)")


class Migration(migrations.Migration):
    dependencies = [("scoring", "0009_currentscore_safe_rank")]

    operations = [
        migrations.AddField(
            model_name="modelversion",
            name="number",
            field=models.PositiveIntegerField(null=True, editable=False),
        ),
        migrations.RunPython(number_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="modelversion",
            name="number",
            field=models.PositiveIntegerField(
                editable=False, help_text="The version's number within its tenant: 1, 2, … (shown as v1, v2)."
            ),
        ),
        migrations.AddConstraint(
            model_name="modelversion",
            constraint=models.UniqueConstraint(fields=("tenant", "number"), name="modelversion_number_per_tenant"),
        ),
    ]
