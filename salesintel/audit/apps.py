from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "salesintel.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from salesintel.audit import receivers

        receivers.connect()
