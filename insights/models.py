"""Stored insights: monthly segment metrics, so history is one indexed read away."""

from __future__ import annotations

from django.db import models

from tenants.models import TenantOwned


class SegmentMetric(TenantOwned):
    """One segment's closed-deal metrics for one calendar month (deals closed in that month).

    ``dimension_key`` is ``all`` (the whole tenant), one dimension (``region``) or a pair
    (``industry+region``); ``value_key`` is the JSON list of display values
    (``["Europe"]``, ``["SaaS","Europe"]``, ``[]`` for ``all``). Written only by
    insights.services.segment_metrics_refresh, which replaces a month's rows idempotently.
    The amount sums (including squares) let months be combined into longer ranges with exact
    rates and delta-method intervals; medians cannot be combined and are per month.
    """

    month = models.DateField(help_text="First day of the calendar month.")
    dimension_key = models.CharField(max_length=100)
    value_key = models.CharField(max_length=500)
    dimensions = models.JSONField(default=list)
    values = models.JSONField(default=list)
    n = models.IntegerField(help_text="Closed deals.")
    won = models.IntegerField()
    win_rate = models.FloatField(null=True)
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    weighted_win_rate = models.FloatField(null=True)
    weighted_ci_low = models.FloatField(null=True)
    weighted_ci_high = models.FloatField(null=True)
    amount_sum = models.FloatField(default=0.0)
    won_amount_sum = models.FloatField(default=0.0)
    amount_sq_sum = models.FloatField(default=0.0)
    won_amount_sq_sum = models.FloatField(default=0.0)
    avg_amount = models.FloatField(null=True)
    median_amount = models.FloatField(null=True)
    median_cycle_won_days = models.FloatField(null=True)
    p75_cycle_won_days = models.FloatField(null=True)
    median_cycle_lost_days = models.FloatField(null=True)
    below_min_sample = models.BooleanField(default=False)
    flag = models.CharField(
        max_length=8, blank=True, help_text="above / below the rest of the tenant, or blank."
    )
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "month", "dimension_key", "value_key"], name="segmentmetric_unique_cell"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "dimension_key", "month"], name="segmentmetric_dimension_month")
        ]
        ordering = ["month", "dimension_key", "value_key"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.dimension_key}={self.value_key} n={self.n}"
