"""Forms of the web UI: the risk board's filters (read from the query string) and admin forms."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, UsernameField

from api.models import ApiKeyScope
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


SEGMENT_WINDOWS = (3, 6, 12, 24)


class SegmentsForm(forms.Form):
    """The segments page: two dimensions for the heatmap, the window, and a segment's history."""

    rows = forms.CharField(required=False, max_length=40)
    columns = forms.CharField(required=False, max_length=40)
    months = forms.TypedChoiceField(
        required=False, coerce=int, choices=[(str(m), f"{m} months") for m in SEGMENT_WINDOWS]
    )
    as_of = forms.DateField(required=False)
    history_dimension = forms.CharField(required=False, max_length=40)
    history_value = forms.CharField(required=False, max_length=200)

    def values(self, *, dimensions: list[str], default_rows: str, default_columns: str) -> dict[str, Any]:
        """Clean values; unknown dimensions fall back to the defaults and rows ≠ columns."""
        self.is_valid()
        data: dict[str, Any] = getattr(self, "cleaned_data", {})
        rows = data.get("rows") if data.get("rows") in dimensions else default_rows
        columns = data.get("columns") if data.get("columns") in dimensions else default_columns
        if columns == rows:
            columns = next(d for d in dimensions if d != rows)
        return {
            "rows": rows,
            "columns": columns,
            "months": data.get("months") or 12,
            "as_of": data.get("as_of"),
            "history_dimension": data.get("history_dimension") or "",
            "history_value": data.get("history_value") or "",
        }


class AlertFilterForm(forms.Form):
    """The inbox's filters; an empty state means the default inbox (open and acknowledged)."""

    state = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Open and acknowledged"),
            ("open", "Open"),
            ("acknowledged", "Acknowledged"),
            ("snoozed", "Snoozed"),
            ("resolved", "Resolved"),
        ],
    )
    kind = forms.CharField(required=False, max_length=32)
    severity = forms.CharField(required=False, max_length=10)
    q = forms.CharField(required=False, max_length=100)
    page = forms.IntegerField(required=False, min_value=1)

    def values(self) -> dict[str, Any]:
        self.is_valid()
        data: dict[str, Any] = getattr(self, "cleaned_data", {})
        return {
            "state": data.get("state") or "",
            "kind": data.get("kind") or "",
            "severity": data.get("severity") or "",
            "q": (data.get("q") or "").strip(),
            "page": data.get("page") or 1,
        }


SNOOZE_DAYS = (1, 3, 7, 14)


class AlertActionForm(forms.Form):
    """One action on one or more alerts: acknowledge, snooze (for ``days``), or resolve."""

    action = forms.ChoiceField(
        choices=[("acknowledge", "Acknowledge"), ("snooze", "Snooze"), ("resolve", "Resolve")]
    )
    days = forms.TypedChoiceField(required=False, coerce=int, choices=[(str(d), str(d)) for d in SNOOZE_DAYS])
    alert = forms.TypedMultipleChoiceField(required=False, coerce=int, choices=[])

    def __init__(self, *args: Any, alert_ids: list[int] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["alert"].choices = [(str(pk), str(pk)) for pk in alert_ids or []]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "snooze" and not data.get("days"):
            raise forms.ValidationError("Choose how long to snooze.")
        return data


class ImportUploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="A CRM export saved as CSV (UTF-8 or Latin-1).")
    mapping = forms.ChoiceField(label="Start from mapping", choices=[])
    encoding = forms.ChoiceField(
        choices=[("utf-8", "UTF-8 (most exports)"), ("latin-1", "Latin-1 (older Excel)")], initial="utf-8"
    )

    def __init__(self, *args: Any, mappings: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mapping"].choices = mappings

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
            limit_mb = settings.IMPORT_MAX_UPLOAD_BYTES // (1024 * 1024)
            raise forms.ValidationError(f"The file is larger than {limit_mb} MB.")
        if upload.size == 0:
            raise forms.ValidationError("The file is empty.")
        return upload


class MappingNameForm(forms.Form):
    """Optional name under which the wizard saves the mapping for next time."""

    save_as = forms.SlugField(required=False, max_length=60, label="Save this mapping as")
    date_formats = forms.CharField(required=False, max_length=200, label="Date formats")


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the key is for, e.g. “Salesforce sync”.")
    scope = forms.ChoiceField(choices=ApiKeyScope.choices, initial=ApiKeyScope.READ)


class BriefingForm(forms.Form):
    as_of = forms.DateField(required=False, label="As of")
    quota = forms.DecimalField(required=False, min_value=Decimal(0), max_digits=16, decimal_places=0)

    def values(self) -> dict[str, Any]:
        self.is_valid()
        data: dict[str, Any] = getattr(self, "cleaned_data", {})
        return {"as_of": data.get("as_of"), "quota": data.get("quota")}
