"""Single-deal writes: deal_create and deal_update (UI and API edits)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from deals.models import Deal, DealStageChange, Rep
from deals.services import deal_create, deal_update
from deals.signals import deal_saved, deals_changed


@pytest.fixture
def open_deal(in_tenant_a) -> Deal:
    return deal_create(
        crm_id="X1", created_date=dt.date(2024, 5, 1), stage="Demo", amount="2500", name=" Pilot "
    )


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, sender, **kwargs) -> None:
        self.calls.append(kwargs)


@pytest.fixture
def saved_signals():
    recorder = Recorder()
    deal_saved.connect(recorder)
    yield recorder
    deal_saved.disconnect(recorder)


@pytest.fixture
def changed_signals():
    recorder = Recorder()
    deals_changed.connect(recorder)
    yield recorder
    deals_changed.disconnect(recorder)


def test_deal_create_stores_normalised_values(open_deal, tenant_a):
    deal = Deal.objects.get()
    assert (deal.crm_id, deal.name, deal.amount, deal.currency, deal.status) == (
        "X1",
        "Pilot",
        Decimal("2500.00"),
        tenant_a.currency,
        "open",
    )


def test_deal_create_validates_like_an_imported_row(in_tenant_a):
    with pytest.raises(ValidationError) as raised:
        deal_create(crm_id="X2", created_date=dt.date(2024, 5, 1), stage="Won", amount=-3)
    assert set(raised.value.message_dict) == {"stage", "amount"}


def test_deal_create_refuses_a_crm_id_in_use(open_deal):
    with pytest.raises(ValidationError, match="already exists"):
        deal_create(crm_id="X1", created_date=dt.date(2024, 5, 1), stage="Demo", amount=1)


def test_deal_create_refuses_a_won_deal_without_a_closed_date(in_tenant_a):
    with pytest.raises(ValidationError, match="a won deal needs a closed date"):
        deal_create(crm_id="X2", created_date=dt.date(2024, 5, 1), stage="Closed", amount=1, status="won")


def test_a_stage_change_records_a_move_dated_today(open_deal, tenant_a):
    deal_update(deal=open_deal, stage="Proposal")
    move = DealStageChange.objects.get()
    today = tenant_a.today()
    assert (move.from_stage, move.to_stage, move.changed_on, move.source) == (
        "Demo",
        "Proposal",
        today,
        "edit",
    )
    assert Deal.objects.get().stage_entered_date == today


def test_a_stage_change_can_be_dated(open_deal):
    deal_update(deal=open_deal, stage="Proposal", stage_entered_date=dt.date(2024, 6, 1))
    assert DealStageChange.objects.get().changed_on == dt.date(2024, 6, 1)


def test_an_update_without_a_stage_change_records_no_move(open_deal):
    deal_update(deal=open_deal, amount=Decimal("3000"), rep=Rep.objects.create(crm_id="u9"))
    deal = Deal.objects.get()
    assert (deal.amount, deal.rep.crm_id) == (Decimal("3000.00"), "u9")
    assert not DealStageChange.objects.exists()


def test_closing_a_deal_derives_its_cycle(open_deal):
    deal_update(deal=open_deal, status="lost", stage="Closed", closed_date=dt.date(2024, 5, 31))
    assert Deal.objects.get().sales_cycle_days == 30


def test_an_invalid_update_changes_nothing(open_deal):
    with pytest.raises(ValidationError) as raised:
        deal_update(deal=open_deal, closed_date=dt.date(2024, 4, 1), status="won")
    assert "before the created date" in str(raised.value)
    assert Deal.objects.get().status == "open"


def test_an_unknown_field_is_a_type_error(open_deal):
    with pytest.raises(TypeError, match="crm_id"):
        deal_update(deal=open_deal, crm_id="Y")


def test_a_rep_of_another_tenant_is_refused(open_deal, tenant_b):
    from tenants.context import tenant_context

    with tenant_context(tenant_b):
        other = Rep.objects.create(crm_id="b1")
    with pytest.raises(ValidationError, match="another workspace"):
        deal_update(deal=open_deal, rep=other)


def test_an_update_announces_the_saved_deal_and_its_scored_change_after_commit(
    open_deal, saved_signals, changed_signals, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        deal_update(deal=open_deal, stage="Proposal")
    assert saved_signals.calls == [
        {
            "signal": deal_saved,
            "tenant_id": open_deal.tenant_id,
            "deal_id": open_deal.pk,
            "created": False,
            "changed_fields": ["stage", "stage_entered_date"],
            "stage_changed": True,
        }
    ]
    assert [(call["deal_ids"], call["reason"]) for call in changed_signals.calls] == [
        ([open_deal.pk], "edit")
    ]


def test_a_name_change_is_saved_but_not_announced_for_rescoring(
    open_deal, saved_signals, changed_signals, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        deal_update(deal=open_deal, name="Renamed")
    assert saved_signals.calls[0]["changed_fields"] == ["name"]
    assert changed_signals.calls == []


def test_a_stage_change_with_an_empty_stage_entered_date_is_dated_today(open_deal, tenant_a):
    deal_update(deal=open_deal, stage="Proposal", stage_entered_date=None)
    assert Deal.objects.get().stage_entered_date == tenant_a.today()
