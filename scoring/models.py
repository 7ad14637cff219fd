"""Scoring registry: model versions, deal score history, current scores and next-action rules.

Every model is tenant-owned; the tenant id leads every unique constraint and index.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import connection, models, transaction
from django.db.models import F
from django.db.models.functions import TruncDate
from django.utils import timezone

from tenants.context import require_tenant_id
from tenants.models import Tenant, TenantOwned

# Advisory lock key (with the tenant id) serialising the numbering of a tenant's model versions.
_NUMBER_LOCK = 74_100_402


def _tenant_without_index() -> models.ForeignKey:
    """The tenant key of a bulk-written table: no index of its own, no per-row foreign-key check.

    Every index of these tables leads with tenant_id already, and a batch writes a million rows
    at a time: Django's default FK index and PostgreSQL's per-row RI trigger would cost more
    than the write itself. RLS's WITH CHECK still pins each row to the active tenant, and Django
    still cascades a tenant's deletion.
    """
    return models.ForeignKey(
        Tenant, on_delete=models.CASCADE, editable=False, db_index=False, db_constraint=False
    )


class Serving(models.TextChoices):
    """What produces a tenant's scores. Shown next to every score."""

    MODEL = "model", "Logistic model"
    SEGMENT_PRIOR = "segment_prior", "Segment priors (baseline)"
    BASE_RATE = "base_rate", "Base rate (baseline)"
    NONE = "none", "No scores (not enough data)"


class ModelVersion(TenantOwned):
    """One training run: what was trained, how it did in the backtest, and what serves.

    ``promoted`` says whether the logistic model passed the promotion rule (beat the base rate
    on Brier score in the time-based backtest). ``serving`` is what this version actually scores
    with: the model when promoted, otherwise the best baseline, or nothing below the minimum
    data. ``is_active`` marks the one version per tenant that scores deals now.
    """

    number = models.PositiveIntegerField(
        editable=False, help_text="The version's number within its tenant: 1, 2, … (shown as v1, v2)."
    )
    trained_at = models.DateTimeField(default=timezone.now)
    # Close dates of the closed deals the run learned from.
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True)
    n_won = models.IntegerField(default=0)
    n_lost = models.IntegerField(default=0)
    features = models.JSONField(default=list, blank=True)
    coefficients = models.JSONField(default=dict, blank=True)
    # Backtest of the logistic model and of each baseline: roc_auc, brier, log_loss, n, reliability.
    metrics = models.JSONField(default=dict, blank=True)
    baseline_metrics = models.JSONField(default=dict, blank=True)
    # Folds, the rep-feature decision and the promotion comparison with its confidence bound.
    details = models.JSONField(default=dict, blank=True)
    # Typical values (medians of the training snapshots) quoted in driver labels.
    typical = models.JSONField(default=dict, blank=True)
    promoted = models.BooleanField(default=False)
    serving = models.CharField(max_length=16, choices=Serving.choices, default=Serving.NONE)
    is_active = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    # joblib bytes of the serving object (scoring.model); null when nothing serves.
    artefact = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(is_active=True),
                name="modelversion_one_active_per_tenant",
            ),
            models.UniqueConstraint(fields=["tenant", "number"], name="modelversion_number_per_tenant"),
        ]
        indexes = [models.Index(fields=["tenant", "trained_at"], name="modelversion_tenant_trained")]
        ordering = ["-trained_at", "-id"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.number is None:
            with transaction.atomic():
                # One numbering at a time per tenant (a transaction-scoped advisory lock).
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_xact_lock(%s, %s)", [_NUMBER_LOCK, require_tenant_id()]
                    )
                latest = ModelVersion.objects.aggregate(latest=models.Max("number"))["latest"]
                self.number = (latest or 0) + 1
                super().save(*args, **kwargs)
            return
        super().save(*args, **kwargs)

    @property
    def label(self) -> str:
        """How pages name the version: "v3"."""
        return f"v{self.number}"

    def __str__(self) -> str:
        return f"{self.label} {self.serving_label}"

    @property
    def serving_label(self) -> str:
        """Which model made a score, in words: shown beside every score."""
        return Serving(self.serving).label

    @property
    def is_replay(self) -> bool:
        """Trained and scored after the fact by scoring.services.scores_replay (never served)."""
        return bool((self.details or {}).get("replay"))

    @property
    def version_label(self) -> str:
        return f"{self.label} · {self.serving_label} · trained {self.trained_at:%Y-%m-%d}"


class Band(models.TextChoices):
    """Risk bands by win probability; cut-offs in scoring.drivers.BAND_CUTOFFS (docs/scoring.md)."""

    LOW = "low", "Low risk"
    MEDIUM = "medium", "Medium risk"
    HIGH = "high", "High risk"
    CRITICAL = "critical", "Critical risk"


class DriverEntry(TenantOwned):
    """One distinct driver of a tenant's scores: a feature, its plain-language label and its
    contribution in log-odds (rounded to 0.01) relative to the tenant's average deal.

    Scores point at entries by id (``DealScore.driver_ids``): a million scores share a few
    thousand entries, so a batch writes six integers per score instead of a JSON document
    (docs/scoring.md, "Performance"). Entries are never changed or deleted while a score may
    point at them; they go with their tenant.
    """

    # 32-bit ids keep a score's six references at 24 bytes.
    id = models.AutoField(primary_key=True)
    feature = models.CharField(max_length=40)
    label = models.TextField()
    value = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "feature", "label", "value"], name="driverentry_unique_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.value:+.2f}"

    def as_dict(self) -> dict[str, object]:
        return {"feature": self.feature, "label": self.label, "value": self.value}


# DealScore.trigger of scores replayed after the fact (scoring.services.scores_replay).
REPLAY_TRIGGER = "replay"


class UtcDate(TruncDate):
    """The UTC calendar day of a datetime: ``(column AT TIME ZONE 'UTC')::date``, immutable, so
    an index may hold it. (``TruncDate(tzinfo=...)`` itself cannot be written into a migration.)"""

    def __init__(self, expression: Any, **extra: Any) -> None:
        super().__init__(expression, tzinfo=dt.UTC, **extra)


class DealScore(TenantOwned):
    """One score a deal held, from one model version (history, append-only).

    A full rescoring appends rows only for deals whose score changed; an event on a deal
    (create, change, import) appends one for that deal in any case (docs/scoring.md).

    ``driver_ids`` lists up to three positive then up to three negative drivers as
    :class:`DriverEntry` ids; :attr:`drivers` gives them as ``{"feature", "label", "value"}``
    (``scoring.selectors`` resolves them for many scores in one query).

    Written a million rows at a time, so its foreign keys have neither their own index nor a
    database constraint (checked row by row, they cost more than the write): the scoring
    service writes them from rows it has just read, and Django cascades deletes.

    The one index is (tenant, UTC day of scored_at, deal, scored_at), not (tenant, deal,
    scored_at): a daily pass then appends its rows at the end of its day's stretch of the index
    instead of inserting each next to the deal's earlier rows, which with a month of history
    touched a leaf page per few deals and made the pass slower every day (docs/scoring.md,
    "History indexed by day"). A deal's scores are read with PostgreSQL 18's skip scan: one
    descent per day the tenant has history, within the tenant.
    """

    tenant = _tenant_without_index()
    deal = models.ForeignKey(
        "deals.Deal", on_delete=models.CASCADE, related_name="scores", db_index=False, db_constraint=False
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="scores", db_index=False, db_constraint=False
    )
    probability = models.FloatField()
    band = models.CharField(max_length=8, choices=Band.choices)
    driver_ids = ArrayField(models.IntegerField(), default=list, blank=True)
    trigger = models.CharField(max_length=20, default="manual")
    scored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                F("tenant"),
                UtcDate("scored_at"),
                F("deal"),
                F("scored_at"),
                name="dealscore_tenant_day_deal",
            )
        ]
        ordering = ["-scored_at", "-id"]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.probability:.2f} ({self.band})"

    @property
    def drivers(self) -> list[dict]:
        """The drivers as ``{"feature", "label", "value"}``, positive first.

        Set in bulk by ``scoring.selectors.deal_score_history``; otherwise read here (one query).
        """
        resolved = self.__dict__.get("_drivers")
        if resolved is None:
            entries = DriverEntry.objects.filter(pk__in=self.driver_ids).in_bulk()
            resolved = [entries[pk].as_dict() for pk in self.driver_ids if pk in entries]
            self._drivers = resolved
        return resolved

    @property
    def positive_drivers(self) -> list[dict]:
        return [driver for driver in self.drivers if driver["value"] > 0]

    @property
    def negative_drivers(self) -> list[dict]:
        return [driver for driver in self.drivers if driver["value"] < 0]


class CurrentScore(TenantOwned):
    """The latest score of each scored deal, with the one before it (for score-drop alerts).

    Kept narrow so the risk board and set-based alert checks never scan the score history;
    ``amount`` lets them total the weighted pipeline without joining the deals.

    A daily pass rewrites every probability of a large tenant, so no index may contain
    ``probability``: an update that changes an indexed column cannot be HOT (heap-only, in
    place on its page, no index entry), and a million non-HOT updates cost three times as much
    (docs/scoring.md, "Performance"). The risk board's order instead walks two small partial
    indexes: ``risk_rank`` is the probability of the tenant's riskiest deals and ``safe_rank``
    that of its safest (``scoring.services.RISK_RANKED`` of each after a full pass), null for
    every other deal. Every risk-ranked probability is at or below every unranked one, and
    every unranked one at or below every safe-ranked one, so the board lists riskiest first as
    the risk-ranked deals by rank, then the unranked by probability, then the safe-ranked by
    rank, and safest first the other way round. Only deals entering, leaving or moving within
    a ranked set update an index. The table is stored at fillfactor 45, so a row's new version
    fits on its own page (migrations 0008 and 0012).
    """

    pk = models.CompositePrimaryKey("tenant", "deal")
    tenant = _tenant_without_index()
    deal = models.ForeignKey(
        "deals.Deal",
        on_delete=models.CASCADE,
        related_name="current_scores",
        db_index=False,
        db_constraint=False,
    )
    # A current row leaves with its deal (above) or its model version (below), never alone.
    score = models.ForeignKey(
        DealScore, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    probability = models.FloatField()
    band = models.CharField(max_length=8, choices=Band.choices)
    # The deal's amount when this score was computed (the same value the model saw), so the
    # probability-weighted pipeline, sum(amount × probability), reads this table alone. Every
    # amount change rescores the deal (scoring.receivers), which rewrites it.
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    # 64-bit fingerprint of the drivers of ``score`` (scoring.drivers.DriverTable.digests):
    # a rescoring compares it, with the probability and model version, to tell a changed score
    # (a new history row) from an unchanged one (none) without reading the history back.
    drivers_digest = models.BigIntegerField(db_default=0)
    previous_probability = models.FloatField(null=True, blank=True)
    previous_band = models.CharField(max_length=8, choices=Band.choices, blank=True)
    # When the score took its current value (an unchanged rescoring leaves it).
    scored_at = models.DateTimeField()
    # ``probability`` when the deal is among the tenant's riskiest, else null (see above).
    risk_rank = models.FloatField(null=True, blank=True)
    # ``probability`` when the deal is among the tenant's safest, else null (see above).
    safe_rank = models.FloatField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        indexes = [
            models.Index(
                fields=["tenant", "risk_rank"],
                name="currentscore_tenant_rank",
                condition=models.Q(risk_rank__isnull=False),
            ),
            models.Index(
                fields=["tenant", "safe_rank"],
                name="currentscore_tenant_safe",
                condition=models.Q(safe_rank__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.probability:.2f} ({self.band})"


class DriverDirection(models.TextChoices):
    NEGATIVE = "negative", "Lowers the win probability"
    POSITIVE = "positive", "Raises the win probability"


class NextActionRule(TenantOwned):
    """A tenant's own recommended action for a driver; overrides scoring.drivers.DEFAULT_NEXT_ACTIONS.

    ``feature`` is a driver's feature key (``days_in_stage``, ``lead_source``, …). A disabled rule
    suppresses the default for that feature and direction.
    """

    feature = models.CharField(max_length=40)
    direction = models.CharField(
        max_length=8, choices=DriverDirection.choices, default=DriverDirection.NEGATIVE
    )
    action = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "feature", "direction"], name="nextactionrule_unique_per_tenant"
            )
        ]
        ordering = ["feature", "direction"]

    def __str__(self) -> str:
        return f"{self.feature} ({self.direction}): {self.action}"
