"""Forms of the web UI: the risk board's filters (read from the query string) and admin forms."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, UsernameField

from tenants.models import Role
from web.selectors import BANDS, SORTS, RiskBoardFilters


class RiskBoardFilterForm(forms.Form):
    """The risk board's query string. Unknown or invalid values are dropped, never an error page:
    a shared link with a stale stage name still opens the board."""

    q = forms.CharField(required=False, max_length=100, label="Search")
    rep = forms.IntegerField(required=False, min_value=1, label="Rep")
    stage = forms.CharField(required=False, max_length=100)
    industry = forms.CharField(required=False, max_length=100)
    region = forms.CharField(required=False, max_length=100)
    product_type = forms.CharField(required=False, max_length=100, label="Product")
    lead_source = forms.CharField(required=False, max_length=100, label="Lead source")
    band = forms.ChoiceField(required=False, choices=[("", "Any"), *((b, b.title()) for b in BANDS)])
    amount_min = forms.DecimalField(required=False, min_value=Decimal(0), max_digits=16, decimal_places=2)
    amount_max = forms.DecimalField(required=False, min_value=Decimal(0), max_digits=16, decimal_places=2)
    sort = forms.ChoiceField(required=False, choices=[(key, key) for key in SORTS])
    page = forms.IntegerField(required=False, min_value=1)

    def filters(self) -> RiskBoardFilters:
        """The valid part of the query as filters; invalid fields fall back to their defaults."""
        self.is_valid()
        data: dict[str, Any] = getattr(self, "cleaned_data", {})
        return RiskBoardFilters(
            q=(data.get("q") or "").strip(),
            rep_id=data.get("rep"),
            stage=data.get("stage") or "",
            industry=data.get("industry") or "",
            region=data.get("region") or "",
            product_type=data.get("product_type") or "",
            lead_source=data.get("lead_source") or "",
            band=data.get("band") or "",
            amount_min=data.get("amount_min"),
            amount_max=data.get("amount_max"),
            sort=data.get("sort") or RiskBoardFilters.sort,
            page=data.get("page") or 1,
        )


class MemberInviteForm(forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class DiagnosisForm(forms.Form):
    """The diagnosis page's pickers; invalid values fall back to the defaults."""

    period = forms.ChoiceField(
        required=False,
        choices=[("month", "Month"), ("quarter", "Quarter"), ("year", "Year")],
        initial="quarter",
    )
    compare = forms.ChoiceField(
        required=False,
        choices=[("previous", "Previous period"), ("year_ago", "Same period a year ago")],
        initial="previous",
    )
    as_of = forms.DateField(required=False, label="As of")
    to_date = forms.BooleanField(required=False, label="Period to date")
    dimension = forms.CharField(required=False, max_length=40)

    def values(self) -> dict[str, Any]:
        self.is_valid()
        data: dict[str, Any] = getattr(self, "cleaned_data", {})
        return {
            "period": data.get("period") or "quarter",
            "compare": data.get("compare") or "previous",
            "as_of": data.get("as_of"),
            "to_date": bool(data.get("to_date")),
            "dimension": data.get("dimension") or "",
        }


class EmailAuthenticationForm(AuthenticationForm):
    """Sign-in form: accounts are named by their email address, so the field says so."""

    username = UsernameField(
        label="Email", widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
