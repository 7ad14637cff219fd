"""Admin → Import: upload, map, dry run with row errors, import with progress, saved mappings."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from deals.models import Deal, FieldMapping, ImportRun
from salesintel.celery import app as celery_app
from tenants.context import tenant_context
from web.importing import upload_root
from web.tasks import import_upload

HEADER = (
    "deal_id,created_date,closed_date,sales_rep_id,industry,region,product_type,lead_source,"
    "deal_stage,deal_amount,sales_cycle_days,outcome\n"
)
GOOD = HEADER + (
    "D1,2024-01-05,2024-02-01,rep_1,SaaS,Europe,Pro,Inbound,Proposal,12000,27,Won\n"
    "D2,2024-01-09,2024-03-01,rep_2,FinTech,APAC,Core,Partner,Demo,8000,52,Lost\n"
    "D3,2024-02-01,,rep_1,SaaS,Europe,Pro,Referral,Qualified,5000,,Open\n"
)
BAD = HEADER + (
    "D1,2024-01-05,2024-02-01,rep_1,SaaS,Europe,Pro,Inbound,Proposal,12000,27,Won\n"
    "D2,not-a-date,2024-03-01,rep_2,FinTech,APAC,Core,Partner,Demo,lots,52,Lost\n"
)


@pytest.fixture(autouse=True)
def uploads_in_tmp(settings, tmp_path: Path) -> Path:
    settings.WEB_UPLOAD_DIR = tmp_path / "uploads"
    return tmp_path / "uploads"


@pytest.fixture(autouse=True)
def eager_tasks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run the import task inline and keep its result, as a worker would store it."""
    conf = celery_app.conf
    before = conf.task_always_eager, conf.task_store_eager_result
    conf.task_always_eager, conf.task_store_eager_result = True, True
    # Celery copies this setting onto the task when it is first bound, so set it on the task.
    monkeypatch.setattr(import_upload, "store_eager_result", True)
    yield
    conf.task_always_eager, conf.task_store_eager_result = before


def upload(client: Client, content: str, *, mapping: str = "standard", name: str = "deals.csv") -> str:
    response = client.post(
        reverse("settings_import_upload"),
        {"file": SimpleUploadedFile(name, content.encode()), "mapping": mapping, "encoding": "utf-8"},
    )
    assert response.status_code == 302, response.content
    match = re.search(r"/settings/imports/([0-9a-f]+)/map/", response["Location"])
    assert match is not None
    return match.group(1)


def map_as_suggested(client: Client, upload_id: str, **extra: str) -> Client:
    page = client.get(reverse("settings_import_map", args=[upload_id]))
    data = {f"target_{c['index']}": c["target"] for c in page.context["columns"]}
    for draft in page.context["drafts"]:
        for index, choice in enumerate(draft.choices):
            data[f"value_{draft.field}_{index}"] = choice.mapped
    data["date_formats"] = "%Y-%m-%d"
    data.update(extra)
    return client.post(reverse("settings_import_map", args=[upload_id]), data)


def deal_count(tenant) -> int:
    with tenant_context(tenant):
        return Deal.objects.count()


def test_the_map_step_shows_each_column_with_samples_and_the_presets_suggestion(admin_client: Client):
    upload_id = upload(admin_client, GOOD)
    page = admin_client.get(reverse("settings_import_map", args=[upload_id]))
    assert page.status_code == 200
    by_name = {c["name"]: c for c in page.context["columns"]}
    assert by_name["deal_id"]["target"] == "crm_id"
    assert by_name["deal_amount"]["samples"] == ["12000", "8000", "5000"]
    outcome = next(d for d in page.context["drafts"] if d.field == "status")
    assert [(c.raw, c.mapped) for c in outcome.choices] == [
        ("Won", "won"),
        ("Lost", "lost"),
        ("Open", "open"),
    ]


def test_a_dry_run_validates_everything_and_writes_nothing(admin_client: Client, tenant_a):
    upload_id = upload(admin_client, GOOD)
    response = map_as_suggested(admin_client, upload_id)
    assert response["Location"] == reverse("settings_import_status", args=[upload_id])
    status = admin_client.get(response["Location"])
    job = status.context["job"]
    assert job["phase"] == "done"
    assert job["summary"]["status"] == "succeeded"
    assert job["summary"]["created"] == 3
    assert b"an import would create 3" in status.content
    assert deal_count(tenant_a) == 0
    with tenant_context(tenant_a):
        assert not ImportRun.objects.exists()


def test_importing_after_the_dry_run_writes_the_deals_and_removes_the_upload(
    admin_client: Client, tenant_a, uploads_in_tmp
):
    upload_id = upload(admin_client, GOOD)
    map_as_suggested(admin_client, upload_id)
    response = admin_client.post(reverse("settings_import_run", args=[upload_id]))
    assert response.status_code == 302
    job = admin_client.get(reverse("settings_import_status", args=[upload_id])).context["job"]
    assert job["summary"]["status"] == "succeeded" and job["summary"]["dry_run"] is False
    assert deal_count(tenant_a) == 3
    with tenant_context(tenant_a):
        run = ImportRun.objects.get()
    assert (run.source, run.created, run.user.username) == ("ui", 3, "ada@acme.test")
    assert list(uploads_in_tmp.rglob("*.csv")) == []


def test_a_file_with_bad_rows_shows_each_error_with_its_row_and_column(admin_client: Client, tenant_a):
    upload_id = upload(admin_client, BAD)
    map_as_suggested(admin_client, upload_id)
    status = admin_client.get(reverse("settings_import_status", args=[upload_id]))
    summary = status.context["job"]["summary"]
    assert summary["status"] == "rejected"
    cells = {(error["row"], error["column"]) for error in summary["errors"]}
    assert (3, "created_date") in cells and (3, "deal_amount") in cells
    assert b'data-testid="row-errors"' in status.content
    assert b"Import 0 rows now" not in status.content
    assert deal_count(tenant_a) == 0


def test_a_mapping_without_a_required_field_is_refused_with_the_reason(admin_client: Client):
    upload_id = upload(admin_client, GOOD)
    page = admin_client.get(reverse("settings_import_map", args=[upload_id]))
    amount_index = next(c["index"] for c in page.context["columns"] if c["name"] == "deal_amount")
    response = map_as_suggested(admin_client, upload_id, **{f"target_{amount_index}": ""})
    assert response.status_code == 400
    assert "no column maps to the required field 'amount'" in html.unescape(response.content.decode())


def test_the_wizard_saves_the_mapping_under_a_name_for_next_time(admin_client: Client, tenant_a):
    upload_id = upload(admin_client, GOOD)
    map_as_suggested(admin_client, upload_id, save_as="our-crm")
    with tenant_context(tenant_a):
        saved = FieldMapping.objects.get(name="our-crm")
    assert saved.spec["columns"]["deal_id"] == "crm_id"
    assert ("our-crm", "our-crm (saved)") in admin_client.get(reverse("settings_imports")).context[
        "form"
    ].fields["mapping"].choices


def test_a_changed_value_translation_becomes_a_rule(admin_client: Client, tenant_a):
    content = HEADER + "D1,2024-01-05,2024-02-01,rep_1,SaaS,Europe,Pro,Inbound,Proposal,12000,27,Gewonnen\n"
    upload_id = upload(admin_client, content)
    page = admin_client.get(reverse("settings_import_map", args=[upload_id]))
    outcome = next(d for d in page.context["drafts"] if d.field == "status")
    assert [(c.raw, c.mapped) for c in outcome.choices] == [("Gewonnen", "")]
    map_as_suggested(admin_client, upload_id, value_status_0="won", save_as="german")
    with tenant_context(tenant_a):
        assert FieldMapping.objects.get(name="german").spec["value_maps"]["status"]["Gewonnen"] == "won"


def test_someone_elses_upload_is_not_found(admin_client: Client, client_factory_b):
    upload_id = upload(admin_client, GOOD)
    assert client_factory_b.get(reverse("settings_import_map", args=[upload_id])).status_code == 404


def test_viewers_cannot_open_the_import_pages(viewer_client: Client):
    assert viewer_client.get(reverse("settings_imports")).status_code == 403
    assert viewer_client.get(reverse("settings_mappings")).status_code == 403


def test_an_admin_deletes_a_saved_mapping(admin_client: Client, tenant_a):
    with tenant_context(tenant_a):
        mapping = FieldMapping.objects.create(name="old", spec={"extends": "standard"})
    admin_client.post(reverse("settings_mapping_delete", args=[mapping.pk]))
    with tenant_context(tenant_a):
        assert not FieldMapping.objects.exists()


def test_uploads_are_stored_per_tenant(admin_client: Client, tenant_a, uploads_in_tmp):
    upload(admin_client, GOOD)
    assert [p.parent.name for p in uploads_in_tmp.rglob("*.csv")] == [str(tenant_a.pk)]
    assert upload_root() == uploads_in_tmp
