"""/api/v1/imports: upload a CSV with a mapping name, get a job, poll its result."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from api.models import ImportJob
from api.tasks import import_job_run
from deals.models import Deal
from tenants.context import tenant_context

IMPORTS = "/api/v1/imports"
HEADER = (
    "deal_id,created_date,closed_date,sales_rep_id,industry,region,product_type,lead_source,"
    "deal_stage,deal_amount,sales_cycle_days,outcome\n"
)
GOOD_CSV = HEADER + (
    "CSV-1,2024-01-05,2024-02-10,rep_1,SaaS,Europe,Core,Referral,Closed,4200,36,Won\n"
    "CSV-2,2024-01-09,2024-03-01,rep_2,FinTech,APAC,Pro,Inbound,Demo,3100,52,Lost\n"
)
BAD_CSV = HEADER + "CSV-3,2024-01-05,,rep_1,SaaS,Europe,Core,Referral,Qualified,-10,,\n"


def upload(text: str, name: str = "export.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


@pytest.fixture
def spool_dir(settings, tmp_path):
    settings.IMPORT_SPOOL_DIR = str(tmp_path)
    return tmp_path


def test_a_small_file_is_imported_at_once(writer_a, tenant_a):
    response = writer_a.post(IMPORTS, {"file": upload(GOOD_CSV), "mapping": "standard"}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "succeeded"
    assert (body["result"]["created"], body["result"]["rows_read"]) == (2, 2)
    with tenant_context(tenant_a):
        assert sorted(Deal.objects.values_list("crm_id", flat=True)) == ["CSV-1", "CSV-2"]
    assert writer_a.get(f"{IMPORTS}/{body['id']}").json()["result"]["created"] == 2


def test_a_file_with_a_bad_row_is_rejected_with_row_and_column_and_changes_nothing(writer_a, tenant_a):
    response = writer_a.post(IMPORTS, {"file": upload(BAD_CSV)}, format="multipart")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "rejected"
    assert {(error["row"], error["column"]) for error in body["result"]["errors"]} >= {(2, "deal_amount")}
    with tenant_context(tenant_a):
        assert not Deal.objects.exists()


def test_a_big_file_is_queued_and_the_worker_task_imports_it(settings, spool_dir, writer_a, tenant_a):
    settings.API_IMPORT_INLINE_MAX_BYTES = 10
    response = writer_a.post(IMPORTS, {"file": upload(GOOD_CSV)}, format="multipart")
    assert response.status_code == 202
    job_id = response.json()["id"]
    assert writer_a.get(f"{IMPORTS}/{job_id}").json()["status"] == "queued"
    # The task as the worker runs it (the test transaction never commits, so it is not sent).
    assert import_job_run.apply(args=[tenant_a.pk, job_id]).get() == "succeeded"
    polled = writer_a.get(f"{IMPORTS}/{job_id}").json()
    assert (polled["status"], polled["result"]["created"]) == ("succeeded", 2)
    assert list(spool_dir.iterdir()) == []


def test_an_unknown_mapping_is_422(writer_a):
    response = writer_a.post(IMPORTS, {"file": upload(GOOD_CSV), "mapping": "nonesuch"}, format="multipart")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["mapping"]


def test_a_missing_file_is_422(writer_a):
    response = writer_a.post(IMPORTS, {"mapping": "standard"}, format="multipart")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["file"]


def test_a_file_over_the_upload_limit_is_413(settings, writer_a, tenant_a):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    response = writer_a.post(IMPORTS, {"file": upload(GOOD_CSV * 3)}, format="multipart")
    assert response.status_code == 413
    with tenant_context(tenant_a):
        assert not ImportJob.objects.exists()


def test_json_is_415(writer_a):
    response = writer_a.post(IMPORTS, {"file": "x"}, format="json")
    assert response.status_code == 415
    assert response.json()["type"] == "unsupported_media_type"


def test_a_read_key_cannot_import(client_a, tenant_a):
    assert client_a.post(IMPORTS, {"file": upload(GOOD_CSV)}, format="multipart").status_code == 403
    with tenant_context(tenant_a):
        assert not Deal.objects.exists()


def test_another_tenant_gets_404_for_the_job(writer_a, writer_b):
    job_id = writer_a.post(IMPORTS, {"file": upload(GOOD_CSV)}, format="multipart").json()["id"]
    response = writer_b.get(f"{IMPORTS}/{job_id}")
    assert response.status_code == 404
    assert "CSV-1" not in response.content.decode()
    assert writer_b.get(IMPORTS).json()["results"] == []


def test_an_empty_encoding_is_422_not_the_default(writer_a):
    body = '--b\r\nContent-Disposition: form-data; name="encoding"\r\n\r\n\r\n--b\r\n'
    body += 'Content-Disposition: form-data; name="file"; filename="file.png"\r\n\r\n\x89PNG\r\n--b--\r\n'
    response = writer_a.generic(
        "POST", "/api/v1/imports", body.encode("latin-1"), content_type="multipart/form-data; boundary=b"
    )
    assert response.status_code == 422, response.content
    assert "encoding" in response.json()["errors"]
