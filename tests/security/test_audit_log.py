"""Administrative actions leave an audit event naming who did what, in the tenant's own log."""

from __future__ import annotations

import copy
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from alerts.services import alert_rules_ensure
from api.models import ApiKey, ApiKeyScope
from api.services import api_key_create
from deals.mapping import PRESETS
from deals.models import FieldMapping
from deals.services import deals_import_file, field_mapping_save
from salesintel.audit.models import AuditAction, AuditEvent
from tenants.context import tenant_context
from tenants.models import Membership, Role
from tenants.services import membership_grant, user_ensure

CSV = (
    "deal_id,created_date,closed_date,sales_rep_id,industry,region,product_type,lead_source,"
    "deal_stage,deal_amount,sales_cycle_days,outcome\n"
    "AU-1,2024-01-02,2024-02-01,rep_1,SaaS,Europe,Core,Inbound,Closed,1000,30,Won\n"
)
MAPPING_SPEC = copy.deepcopy(PRESETS["standard"])
RENAMED_SPEC = {**MAPPING_SPEC, "columns": {**MAPPING_SPEC["columns"], "Deal ID": "crm_id"}}
RENAMED_SPEC["columns"].pop("deal_id")
RENAMED_SPEC["required"] = ["Deal ID" if c == "deal_id" else c for c in MAPPING_SPEC["required"]]


def events(tenant, action: str | None = None) -> list[AuditEvent]:
    with tenant_context(tenant):
        queryset = AuditEvent.objects.order_by("id")
        if action is not None:
            queryset = queryset.filter(action=action)
        return list(queryset)


@pytest.fixture
def admin_a(client: Client, user_a) -> Client:
    client.force_login(user_a)
    return client


def test_creating_an_api_key_in_the_settings_page_is_logged_with_its_creator(admin_a, tenant_a):
    response = admin_a.post(reverse("settings_api_keys"), {"name": "CRM sync", "scope": "write"})
    assert response.status_code == 200
    (event,) = events(tenant_a, AuditAction.API_KEY_CREATED)
    assert event.actor_label == "ada@acme.test" and event.actor is not None
    assert event.details["name"] == "CRM sync" and event.details["scope"] == "write"
    with tenant_context(tenant_a):
        key = ApiKey.objects.get()
    assert event.target_id == str(key.pk) and key.key_sha256 not in str(event.details)


def test_revoking_an_api_key_is_logged(admin_a, tenant_a):
    with tenant_context(tenant_a):
        key = api_key_create(name="old key", scope=ApiKeyScope.READ).api_key
    admin_a.post(reverse("settings_api_key_revoke", args=[key.pk]))
    (event,) = events(tenant_a, AuditAction.API_KEY_REVOKED)
    assert (event.actor_label, event.details) == ("ada@acme.test", {"prefix": key.key_prefix})


def test_a_key_created_outside_a_request_is_logged_as_its_creator_or_the_system(tenant_a, user_a):
    with tenant_context(tenant_a):
        api_key_create(name="by command", scope=ApiKeyScope.READ)
        api_key_create(name="on behalf", scope=ApiKeyScope.READ, created_by=user_a)
    labels = [event.actor_label for event in events(tenant_a, AuditAction.API_KEY_CREATED)]
    assert labels == ["system", "ada@acme.test"]


def test_changing_a_members_role_is_logged_with_before_and_after(admin_a, tenant_a):
    viewer = user_ensure(email="val@acme.test", password=None)
    membership = membership_grant(tenant=tenant_a, user=viewer, role=Role.VIEWER)
    admin_a.post(reverse("settings_member_role", args=[membership.pk]), {"role": "manager"})
    (event,) = events(tenant_a, AuditAction.MEMBER_ROLE_CHANGED)
    assert event.actor_label == "ada@acme.test"
    assert event.details == {"user": "val@acme.test", "from": "viewer", "to": "manager"}


def test_inviting_and_removing_a_member_are_logged(admin_a, tenant_a):
    admin_a.post(reverse("settings_member_invite"), {"email": "neo@acme.test", "role": "viewer"})
    with tenant_context(tenant_a):
        membership = Membership.objects.get(user__username="neo@acme.test")
    admin_a.post(reverse("settings_member_remove", args=[membership.pk]))
    added = events(tenant_a, AuditAction.MEMBER_ADDED)
    removed = events(tenant_a, AuditAction.MEMBER_REMOVED)
    assert added[-1].details == {"user": "neo@acme.test", "role": "viewer"}
    assert added[-1].actor_label == "ada@acme.test"
    assert [(e.actor_label, e.details) for e in removed] == [("ada@acme.test", {"user": "neo@acme.test"})]


def test_saving_changing_and_deleting_a_mapping_are_logged(admin_a, tenant_a):
    with tenant_context(tenant_a):
        mapping = field_mapping_save(name="my-crm", spec=MAPPING_SPEC)
        field_mapping_save(name="my-crm", spec=RENAMED_SPEC)
        field_mapping_save(name="my-crm", spec=RENAMED_SPEC)
    admin_a.post(reverse("settings_mapping_delete", args=[mapping.pk]))
    logged = [(e.action, e.details) for e in events(tenant_a) if e.action.startswith("mapping.")]
    assert logged == [
        (AuditAction.MAPPING_CREATED, {"name": "my-crm"}),
        (AuditAction.MAPPING_CHANGED, {"name": "my-crm", "fields": ["spec"]}),
        (AuditAction.MAPPING_DELETED, {"name": "my-crm"}),
    ]
    assert events(tenant_a, AuditAction.MAPPING_DELETED)[0].actor_label == "ada@acme.test"
    with tenant_context(tenant_a):
        assert not FieldMapping.objects.exists()


def test_an_import_is_logged_when_it_starts_and_when_it_finishes(tenant_a, user_a):
    with tenant_context(tenant_a):
        run = deals_import_file(file=io.BytesIO(CSV.encode()), file_name="q1.csv", user=user_a)
    started, finished = events(tenant_a)[-2:]
    assert (started.action, finished.action) == (AuditAction.IMPORT_STARTED, AuditAction.IMPORT_FINISHED)
    assert started.details == {"file_name": "q1.csv", "mapping": "standard", "source": "cli"}
    assert finished.actor_label == "ada@acme.test"
    assert finished.details["status"] == "succeeded" and finished.details["created"] == 1
    assert finished.target_id == str(run.pk)


def test_an_import_through_the_api_is_logged_as_the_api_key(tenant_a):
    with tenant_context(tenant_a):
        created = api_key_create(name="Nightly sync", scope=ApiKeyScope.WRITE)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.plaintext}")
    upload = SimpleUploadedFile("nightly.csv", CSV.encode(), content_type="text/csv")
    response = client.post("/api/v1/imports", {"file": upload, "mapping": "standard"}, format="multipart")
    assert response.status_code in (200, 201, 202), response.content
    finished = events(tenant_a, AuditAction.IMPORT_FINISHED)
    assert [e.actor_label for e in finished] == [f"API key si_{created.api_key.key_prefix}… (Nightly sync)"]


def test_changing_an_alert_rule_is_logged_with_the_changed_settings(admin_a, tenant_a):
    with tenant_context(tenant_a):
        rule = next(iter(alert_rules_ensure().values()))
    admin_a.post(
        reverse("settings_alert_rule_save", args=[rule.pk]), {"cooldown_days": str(rule.cooldown_days + 1)}
    )
    (event,) = events(tenant_a, AuditAction.ALERT_RULE_CHANGED)
    assert event.actor_label == "ada@acme.test"
    assert event.details["changes"]["cooldown_days"] == [rule.cooldown_days, rule.cooldown_days + 1]


def test_a_tenant_never_sees_another_tenants_audit_events(tenant_a, tenant_b, user_a):
    with tenant_context(tenant_a):
        api_key_create(name="A's key", scope=ApiKeyScope.READ, created_by=user_a)
    assert events(tenant_b) == []
    assert len(events(tenant_a)) >= 1
    assert AuditEvent.unscoped.count() == 0  # no tenant set: row-level security shows nothing


def test_the_audit_log_is_read_only_in_the_django_admin(client: Client, tenant_a, user_a):
    user_a.is_staff = True
    user_a.is_superuser = True
    user_a.save()
    with tenant_context(tenant_a):
        api_key_create(name="seen in admin", scope=ApiKeyScope.READ, created_by=user_a)
        event = AuditEvent.objects.get(action=AuditAction.API_KEY_CREATED)
    client.force_login(user_a)
    listing = client.get("/admin/audit/auditevent/")
    assert listing.status_code == 200 and b"seen in admin" in listing.content
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"})
    with tenant_context(tenant_a):
        assert AuditEvent.objects.filter(pk=event.pk).exists()
