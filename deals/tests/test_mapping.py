"""Mapping specs: presets, validation of a spec, overrides by the tenant's own mappings."""

from __future__ import annotations

import json

import pytest

from deals.mapping import (
    PRESETS,
    MappingError,
    mapping_from_json,
    mapping_load_file,
    mapping_preset,
    mapping_resolve,
)
from deals.models import FieldMapping


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_a_valid_spec(name):
    spec = mapping_preset(name)
    assert spec.name == name
    assert spec.sources_of("crm_id")


def test_the_standard_preset_maps_the_reference_files_columns():
    spec = mapping_preset("standard")
    assert spec.columns["deal_stage"] == ("stage",)
    assert spec.columns["outcome"] == ("status",)
    assert spec.value_maps["status"].lookup("") == "open"
    assert spec.value_maps["status"].lookup(" won ") == "won"


def test_a_spec_error_lists_every_problem_at_once():
    with pytest.raises(MappingError) as raised:
        mapping_from_json(
            {
                "columns": {"Id": "deal_identifier", "Amount": "amount"},
                "colour": "blue",
                "value_maps": {"status": {"Won": "victory"}},
                "decimal_separator": ".",
                "thousands_separator": ".",
            }
        )
    text = str(raised.value)
    assert "unknown key(s) 'colour'" in text
    assert "unknown field(s) 'deal_identifier'" in text
    assert "value_maps['status']['Won'] is 'victory'" in text
    assert "decimal_separator and thousands_separator must differ" in text
    assert "no column maps to the required field 'crm_id'" in text
    assert len(raised.value.problems) >= 6


def test_a_required_column_must_be_one_of_the_mapped_columns():
    with pytest.raises(MappingError, match="required names 'Amount'"):
        mapping_from_json({"extends": "standard", "required": ["Amount"]})


def test_extends_keeps_the_presets_columns_and_replaces_only_the_value_maps_it_names():
    spec = mapping_from_json(
        {
            "extends": "salesforce",
            "columns": {"Region (custom)": "region"},
            "value_maps": {"stage": {"Discovery": "Qualified"}},
        }
    )
    assert spec.columns["Opportunity ID"] == ("crm_id",)
    assert spec.columns["Region (custom)"] == ("region",)
    assert spec.value_maps["stage"].lookup("Discovery") == "Qualified"
    assert spec.value_maps["stage"].lookup("Prospecting") is None
    assert spec.value_maps["status"].lookup("Closed Won") == "won"


def test_extends_refuses_an_unknown_preset():
    with pytest.raises(MappingError, match="unknown preset 'pipedrive'"):
        mapping_from_json({"extends": "pipedrive"})


def test_a_column_mapped_to_null_is_ignored_and_a_list_feeds_several_fields():
    spec = mapping_from_json(
        {"extends": "standard", "columns": {"Owner": ["rep_crm_id", "rep_name"], "sales_cycle_days": None}}
    )
    assert spec.columns["Owner"] == ("rep_crm_id", "rep_name")
    assert spec.columns["sales_cycle_days"] == ()


def test_value_map_keys_of_the_form_column_equals_value_are_conditions_on_other_columns():
    spec = mapping_preset("salesforce")
    assert ("won", "true", "won") in spec.value_maps["status"].conditions


def test_the_tenants_own_mapping_overrides_a_preset_of_the_same_name(in_tenant_a):
    FieldMapping.objects.create(name="salesforce", spec={"extends": "salesforce", "date_format": "%d/%m/%Y"})
    assert mapping_resolve("salesforce").date_formats == ("%d/%m/%Y",)
    assert mapping_resolve("hubspot").date_formats == mapping_preset("hubspot").date_formats


def test_an_unknown_mapping_name_lists_the_available_ones(in_tenant_a):
    FieldMapping.objects.create(name="zoho", spec={"extends": "standard"})
    with pytest.raises(
        MappingError, match="unknown mapping 'pipedrive'; available: hubspot, salesforce, standard, zoho"
    ):
        mapping_resolve("pipedrive")


def test_a_mapping_file_that_is_not_json_names_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{columns: }")
    with pytest.raises(MappingError, match=r"broken\.json is not valid JSON"):
        mapping_load_file(path)


def test_a_mapping_file_is_named_after_the_file(tmp_path):
    path = tmp_path / "my-crm.json"
    path.write_text(json.dumps({"extends": "standard"}))
    assert mapping_load_file(path).name == "my-crm"
