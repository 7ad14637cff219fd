"""Drivers as ids: DealScore.driver_ids into a per-tenant dictionary of DriverEntry rows.

A score's drivers were a JSON document per history row; a million-row scoring pass spent most of
its history insert building and writing them (docs/scoring.md, "Performance"). The existing
documents are converted tenant by tenant (the tables force row-level security, so
``app.tenant_id`` is set for the migration's transaction only), keeping each score's driver order.
"""

import django.contrib.postgres.fields
import django.db.models.deletion
import django.db.models.manager
from django.db import migrations, models


def drivers_to_entries(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tenants_tenant ORDER BY id")
        for (tenant_id,) in cursor.fetchall():
            cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
            cursor.execute(
                """
                INSERT INTO scoring_driverentry (tenant_id, feature, label, value)
                SELECT DISTINCT %(tenant)s, e ->> 'feature', e ->> 'label', (e ->> 'value')::float8
                FROM scoring_dealscore s, jsonb_array_elements(s.drivers) e
                WHERE s.tenant_id = %(tenant)s
                ON CONFLICT DO NOTHING
                """,
                {"tenant": tenant_id},
            )
            cursor.execute(
                """
                UPDATE scoring_dealscore s SET driver_ids = ids.driver_ids
                FROM (
                    SELECT s2.id, array_agg(d.id ORDER BY e.position) AS driver_ids
                    FROM scoring_dealscore s2,
                         jsonb_array_elements(s2.drivers) WITH ORDINALITY AS e (entry, position)
                    JOIN scoring_driverentry d
                      ON d.tenant_id = %(tenant)s AND d.feature = e.entry ->> 'feature'
                     AND d.label = e.entry ->> 'label' AND d.value = (e.entry ->> 'value')::float8
                    WHERE s2.tenant_id = %(tenant)s
                    GROUP BY s2.id
                ) ids
                WHERE s.tenant_id = %(tenant)s AND s.id = ids.id
                """,
                {"tenant": tenant_id},
            )
        cursor.execute("SELECT set_config('app.tenant_id', '', true)")


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0006_currentscore_drivers_digest"),
        ("tenants", "0002_tenant_quarterly_quota"),
    ]

    operations = [
        migrations.CreateModel(
            name="DriverEntry",
            fields=[
                ("id", models.AutoField(primary_key=True, serialize=False)),
                ("feature", models.CharField(max_length=40)),
                ("label", models.TextField()),
                ("value", models.FloatField()),
                (
                    "tenant",
                    models.ForeignKey(
                        editable=False, on_delete=django.db.models.deletion.CASCADE, to="tenants.tenant"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("tenant", "feature", "label", "value"), name="driverentry_unique_per_tenant"
                    )
                ],
            },
            managers=[
                ("objects", django.db.models.manager.Manager()),
                ("unscoped", django.db.models.manager.Manager()),
            ],
        ),
        migrations.AddField(
            model_name="dealscore",
            name="driver_ids",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.IntegerField(), blank=True, default=list, size=None
            ),
        ),
        migrations.RunPython(drivers_to_entries, migrations.RunPython.noop),
        migrations.RemoveField(model_name="dealscore", name="drivers"),
    ]
