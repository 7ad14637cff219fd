from django.contrib import admin

from alerts.models import Alert, AlertRule, DigestPreference, ScheduledRun, WebhookEndpoint
from tenants.admin import TenantScopedAdmin


@admin.register(AlertRule)
class AlertRuleAdmin(TenantScopedAdmin):
    list_display = ["kind", "enabled", "cooldown_days", "thresholds", "updated_at"]


@admin.register(Alert)
class AlertAdmin(TenantScopedAdmin):
    list_display = ["title", "kind", "severity", "state", "raised_on", "acted_by"]
    list_filter = ["kind", "severity", "state"]
    search_fields = ["title", "dedup_key"]
    raw_id_fields = ["deal"]
    readonly_fields = ["dedup_key", "evidence", "summary", "rule", "kind"]


@admin.register(DigestPreference)
class DigestPreferenceAdmin(TenantScopedAdmin):
    list_display = ["user", "frequency", "updated_at"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantScopedAdmin):
    list_display = ["url", "enabled", "min_severity", "last_success_at", "last_error"]
    exclude = ["secret"]


@admin.register(ScheduledRun)
class ScheduledRunAdmin(TenantScopedAdmin):
    list_display = ["job", "period_key", "state", "queued_at", "finished_at"]
    list_filter = ["job", "state"]
