from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self) -> None:
        from tenants.rls import apply_row_level_security

        post_migrate.connect(apply_row_level_security, dispatch_uid="tenants.rls")
