"""The Django admin's FieldMapping form validates the spec with the import's own validator."""

from __future__ import annotations

import copy
import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from deals.mapping import PRESETS
from deals.models import FieldMapping
from tenants.context import tenant_context

ADD = reverse("admin:deals_fieldmapping_add")


@pytest.fixture
def staff_a(user_a) -> Client:
    user_a.is_staff = True
    user_a.save()
    user_a.user_permissions.set(Permission.objects.filter(content_type__app_label="deals"))
    client = Client()
    client.force_login(user_a)
    return client


def mappings(tenant) -> list[tuple[str, dict]]:
    with tenant_context(tenant):
        return list(FieldMapping.objects.values_list("name", "spec"))


def test_a_spec_the_import_refuses_is_shown_as_an_error_and_not_saved(staff_a, tenant_a):
    spec = {"columns": {"Deal ID": "crm_id", "Colour": "no_such_field"}, "surprise": 1}
    response = staff_a.post(ADD, {"name": "my-crm", "spec": json.dumps(spec)})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["spec"]
    assert errors and all(error.startswith("This mapping cannot be used for imports:") for error in errors)
    text = " ".join(errors)
    assert "surprise" in text and "no_such_field" in text
    assert "This mapping cannot be used for imports" in response.content.decode()
    assert mappings(tenant_a) == []


def test_a_spec_that_is_not_an_object_is_refused(staff_a, tenant_a):
    response = staff_a.post(ADD, {"name": "my-crm", "spec": json.dumps(["crm_id"])})
    assert response.status_code == 200
    assert "a mapping must be a JSON object" in " ".join(response.context["adminform"].form.errors["spec"])
    assert mappings(tenant_a) == []


def test_a_valid_spec_is_saved_and_a_duplicate_name_is_an_error_not_a_500(staff_a, tenant_a):
    spec = copy.deepcopy(PRESETS["standard"])
    response = staff_a.post(ADD, {"name": "my-crm", "spec": json.dumps(spec)})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert mappings(tenant_a) == [("my-crm", spec)]
    again = staff_a.post(ADD, {"name": "my-crm", "spec": json.dumps(spec)})
    assert again.status_code == 200
    assert "already has a mapping named" in " ".join(again.context["adminform"].form.errors["name"])
    assert len(mappings(tenant_a)) == 1


def test_changing_a_saved_mapping_to_an_invalid_spec_keeps_the_old_one(staff_a, tenant_a):
    spec = copy.deepcopy(PRESETS["standard"])
    with tenant_context(tenant_a):
        mapping = FieldMapping.objects.create(name="my-crm", spec=spec)
    change = reverse("admin:deals_fieldmapping_change", args=[mapping.pk])
    response = staff_a.post(change, {"name": "my-crm", "spec": json.dumps({"columns": {}})})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["spec"]
    assert mappings(tenant_a) == [("my-crm", spec)]
