"""Model: what scores the tenant's deals, how it did in the backtest against the baselines, the
reliability of its probabilities, "not promoted because …", and whether past scores were right."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.safestring import SafeString

from scoring.selectors import model_version_list, score_audit, serving_model_describe
from web.decorators import tenant_required
from web.figures import reliability_svg
from web.rendering import render_page

AUDIT_LOOKBACK_DAYS = 365
BASELINE_LABELS = {"base_rate": "Base rate (baseline)", "segment_prior": "Segment priors (baseline)"}


def _metric_rows(described: dict[str, Any]) -> list[dict[str, Any]]:
    """The backtest table: the candidate model, then each baseline; best Brier marked."""
    rows = []
    if described["backtest"]:
        rows.append({"key": "model", "label": "Logistic model (candidate)", **described["backtest"]})
    for name, metrics in described["baselines"].items():
        rows.append({"key": name, "label": BASELINE_LABELS.get(name, name), **metrics})
    briers = [row["brier"] for row in rows if row.get("brier") is not None]
    best = min(briers) if briers else None
    for row in rows:
        row["best"] = best is not None and row.get("brier") == best
        row["serving"] = row["key"] == described["serving"]
    return rows


def _reliability(metrics: dict[str, Any], *, chart_id: str, title: str) -> SafeString | str:
    bins = [b for b in metrics.get("reliability", []) if b.get("n")]
    return reliability_svg(bins, chart_id=chart_id, title=title) if bins else ""


@tenant_required
def model(request: HttpRequest) -> HttpResponse:
    described = serving_model_describe()
    today = request.tenant.today()  # type: ignore[attr-defined]
    audit = score_audit(since=today - dt.timedelta(days=AUDIT_LOOKBACK_DAYS))
    latest_audit = next((entry for entry in audit if entry.get("n")), None)
    context = {
        "described": described,
        "metric_rows": _metric_rows(described),
        "comparison": described["details"].get("model_vs_base_rate") if described["details"] else None,
        "rep_feature": described["details"].get("rep_feature") if described["details"] else None,
        "backtest_reliability": _reliability(
            described["backtest"],
            chart_id="backtest-reliability",
            title="Backtest: predicted win probability against the observed win rate",
        ),
        "audit": audit,
        "audit_since": today - dt.timedelta(days=AUDIT_LOOKBACK_DAYS),
        "audit_reliability": _reliability(
            latest_audit, chart_id="audit-reliability", title="Scores held while open against what happened"
        )
        if latest_audit
        else "",
        "latest_audit": latest_audit,
        "versions": model_version_list(limit=12),
    }
    return render_page(request, "web/model.html", context)
