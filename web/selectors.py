"""Reads behind the web pages that no domain app owns: the risk board's filtered, sorted page.

Everything runs inside the request's tenant context (the scoped manager and RLS); nothing here
filters by tenant by hand except raw SQL, which names ``tenant_id`` so the tenant-leading
indexes are used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, FloatField, Q, QuerySet, Sum
from django.db.models.functions import Cast

from deals.models import SEGMENT_FIELDS, Deal, DealStatus, Rep
from insights import segments as insight_segments
from insights import selectors as insight_selectors
from insights.models import SegmentMetric
from insights.periods import add_months, month_start
from insights.segments import clean_number
from scoring.models import CurrentScore, Serving
from scoring.selectors import ScoreView, deal_scores_current
from tenants.context import require_tenant_id

BANDS = ("low", "medium", "high", "critical")

# Sort keys of the risk board → ORDER BY. Every order ends on the primary key so pages are stable.
# "risk" is the current win probability, lowest first; deals without a score come last.
_PROBABILITY = F("current_scores__probability")
SORTS: dict[str, tuple[Any, ...]] = {
    "risk": (_PROBABILITY.asc(nulls_last=True), "id"),
    "-risk": (_PROBABILITY.desc(nulls_last=True), "-id"),
    "-amount": ("-amount", "id"),
    "amount": ("amount", "id"),
    "age": ("-created_date", "id"),
    "-age": ("created_date", "id"),
    "stage_time": ("-stage_entered_date", "id"),
    "-stage_time": ("stage_entered_date", "id"),
    "name": ("name", "id"),
    "-name": ("-name", "id"),
    "stage": ("stage", "id"),
    "-stage": ("-stage", "id"),
    "close": ("expected_close_date", "id"),
    "-close": ("-expected_close_date", "id"),
}
# Without a sort in the URL: riskiest first once deals have scores, else largest first.
SORT_WHEN_SCORED = "risk"
SORT_WHEN_UNSCORED = "-amount"
DRIVERS_SHOWN = 3

PAGE_SIZE = 25
FILTER_OPTIONS_TTL_SECONDS = 300


@dataclass(frozen=True)
class RiskBoardFilters:
    """The risk board's filters, search, sort and page (all optional)."""

    q: str = ""
    rep_id: int | None = None
    stage: str = ""
    industry: str = ""
    region: str = ""
    product_type: str = ""
    lead_source: str = ""
    band: str = ""
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    sort: str = ""
    page: int = 1

    def segment_filters(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in SEGMENT_FIELDS if getattr(self, name)}

    @property
    def is_filtered(self) -> bool:
        return any(
            [
                self.q,
                self.rep_id,
                self.stage,
                self.band,
                self.amount_min is not None,
                self.amount_max is not None,
                *self.segment_filters().values(),
            ]
        )


@dataclass(frozen=True)
class FilterOptions:
    """Values offered in the risk board's filter menus (open deals only)."""

    reps: list[tuple[int, str]]
    stages: list[str]
    segments: dict[str, list[str]]


@dataclass
class BoardRow:
    """One open deal on the risk board. Score fields are None when the deal has no score yet."""

    deal: Deal
    age_days: int
    stage_days: int | None
    probability: float | None = None
    band: str | None = None
    trend: float | None = None
    drivers: list[dict[str, Any]] = field(default_factory=list)
    model_label: str | None = None


@dataclass(frozen=True)
class BoardTotals:
    deals: int
    raw_pipeline: Decimal
    weighted_pipeline: Decimal | None
    scored_deals: int


@dataclass(frozen=True)
class BoardPage:
    rows: list[BoardRow]
    totals: BoardTotals
    page: int
    page_count: int
    page_size: int
    filters: RiskBoardFilters

    @property
    def first_index(self) -> int:
        return 0 if not self.rows else (self.page - 1) * self.page_size + 1

    @property
    def last_index(self) -> int:
        return (self.page - 1) * self.page_size + len(self.rows)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.page_count


def open_deal_filter_options() -> FilterOptions:
    """Reps, stages and segment values of the tenant's open deals, cached for five minutes.

    One GROUPING SETS scan gives every menu; the cache keeps it off the board's hot path on a
    large tenant. A value added by an import shows up within the cache lifetime.
    """
    tenant_id = require_tenant_id()
    key = f"web:risk-board-options:{tenant_id}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    columns = ["stage", *SEGMENT_FIELDS]
    sets = ", ".join(f"({column})" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM deals_deal WHERE tenant_id = %s AND status = %s "
            f"GROUP BY GROUPING SETS ({sets})",
            [tenant_id, DealStatus.OPEN],
        )
        rows = cursor.fetchall()
    values: dict[str, set[str]] = {column: set() for column in columns}
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            if value:
                values[column].add(value)
    reps = [(rep.pk, str(rep)) for rep in Rep.objects.only("id", "name", "crm_id").order_by("name", "crm_id")]
    options = FilterOptions(
        reps=reps,
        stages=sorted(values["stage"]),
        segments={name: sorted(values[name]) for name in SEGMENT_FIELDS},
    )
    cache.set(key, options, FILTER_OPTIONS_TTL_SECONDS)
    return options


def _deal_conditions(filters: RiskBoardFilters, *, prefix: str = "") -> Q:
    """The filters (band excepted) as conditions on an open deal, reached through ``prefix``."""
    conditions = Q(**{f"{prefix}status": DealStatus.OPEN})
    if filters.q:
        conditions &= Q(**{f"{prefix}name__icontains": filters.q}) | Q(
            **{f"{prefix}crm_id__icontains": filters.q}
        )
    if filters.rep_id:
        conditions &= Q(**{f"{prefix}rep_id": filters.rep_id})
    if filters.stage:
        conditions &= Q(**{f"{prefix}stage": filters.stage})
    for name, value in filters.segment_filters().items():
        conditions &= Q(**{f"{prefix}{name}": value})
    if filters.amount_min is not None:
        conditions &= Q(**{f"{prefix}amount__gte": filters.amount_min})
    if filters.amount_max is not None:
        conditions &= Q(**{f"{prefix}amount__lte": filters.amount_max})
    return conditions


def risk_board_queryset(*, filters: RiskBoardFilters, sort: str | None = None) -> QuerySet[Deal]:
    """Open deals matching ``filters``, ordered by ``sort`` (default: ``filters.sort``)."""
    deals = Deal.objects.filter(_deal_conditions(filters))
    if filters.band:
        deals = deals.filter(current_scores__band=filters.band)
    key = sort or filters.sort or SORT_WHEN_UNSCORED
    return deals.order_by(*SORTS.get(key, SORTS[SORT_WHEN_UNSCORED]))


def _risk_page_ids(
    *, filters: RiskBoardFilters, descending: bool, offset: int, limit: int, scored: int
) -> list[int]:
    """A page of deal ids by current win probability, scored deals first, then unscored by id.

    The scored deals come in three parts, each below the next (``CurrentScore``): the
    risk-ranked (the tenant's riskiest deals, ``risk_rank``), the unranked, and the
    safe-ranked (its safest, ``safe_rank``). Riskiest first reads them in that order and
    safest first in the reverse one; a ranked part comes from its small index, each row
    joined to its deal, so the first pages either way read a few dozen rows however many
    deals are open; pages past a ranked part sort the unranked scores. ``scored`` is the
    number of scored deals matching the filters (the board's totals).
    """
    scores = CurrentScore.objects.filter(_deal_conditions(filters, prefix="deal__"))
    if filters.band:
        scores = scores.filter(band=filters.band)
    riskiest = scores.filter(risk_rank__isnull=False)
    unranked = scores.filter(risk_rank__isnull=True, safe_rank__isnull=True)
    safest = scores.filter(safe_rank__isnull=False)
    ids: list[int] = []
    if offset < scored:
        parts = [
            (riskiest, ("risk_rank", "deal_id")),
            (unranked, ("probability", "deal_id")),
            (safest, ("safe_rank", "deal_id")),
        ]
        if descending:
            parts = [
                (safest, ("-safe_rank", "-deal_id")),
                (unranked, ("-probability", "-deal_id")),
                (riskiest, ("-risk_rank", "-deal_id")),
            ]
        start = offset
        for part, order in parts:
            if len(ids) == limit:
                break
            found = list(
                part.order_by(*order).values_list("deal_id", flat=True)[start : start + limit - len(ids)]
            )
            ids += found
            # The next part starts where this one's rows ran out; counted only when the page
            # starts past them all.
            size = start + len(found) if found or start == 0 else part.count()
            start = max(start - size, 0)
    if len(ids) < limit and not filters.band:
        start = max(offset - scored, 0)
        unscored = Deal.objects.filter(_deal_conditions(filters), current_scores__isnull=True).order_by("id")
        ids += list(unscored.values_list("id", flat=True)[start : start + limit - len(ids)])
    return ids


def _days_between(later: dt.date, earlier: dt.date | None) -> int | None:
    return None if earlier is None else max((later - earlier).days, 0)


def _top_drivers(score: ScoreView) -> list[dict[str, Any]]:
    """The strongest drivers either way, as {label, contribution}, largest effect first."""
    drivers = [*score.negative_drivers, *score.positive_drivers]
    drivers.sort(key=lambda driver: abs(driver["value"]), reverse=True)
    return [
        {"label": driver.get("text") or driver["label"], "contribution": driver["value"]}
        for driver in drivers[:DRIVERS_SHOWN]
    ]


def _with_score(row: BoardRow, score: ScoreView | None) -> BoardRow:
    if score is None:
        return row
    row.probability = score.probability
    row.band = score.band
    if score.previous_probability is not None:
        row.trend = score.probability - score.previous_probability
    row.drivers = _top_drivers(score)
    row.model_label = f"v{score.model_version_number} · {score.serving_label}"
    return row


def _has_deal_filters(filters: RiskBoardFilters) -> bool:
    """Whether any filter (band excepted) needs the deals' own columns."""
    return any(
        [
            filters.q,
            filters.rep_id,
            filters.stage,
            filters.amount_min is not None,
            filters.amount_max is not None,
            *filters.segment_filters().values(),
        ]
    )


# Totals of the whole board (no filter, or the band alone) without joining a million deals to
# their scores: count and raw pipeline from the deals' (tenant, status, amount) index (an
# index-only scan), scored deals and weighted pipeline from the current scores alone, which
# carry the amount each was scored with (scoring.CurrentScore.amount; an amount change rescores
# the deal). Measured at 1,000,000 deals: docs/ui.md.
_UNFILTERED_TOTALS_SQL = """
SELECT d.n, d.raw, s.scored, s.weighted
FROM (SELECT count(*) AS n, sum(amount) AS raw
      FROM deals_deal WHERE tenant_id = %(tenant)s AND status = %(open)s) AS d
CROSS JOIN
     (SELECT count(*) AS scored, sum(amount::float8 * probability) AS weighted
      FROM scoring_currentscore WHERE tenant_id = %(tenant)s) AS s
"""
# Every deal in a band has a score, so the band's totals are the current scores' own.
_BAND_TOTALS_SQL = """
SELECT count(*), sum(amount), count(*), sum(amount::float8 * probability)
FROM scoring_currentscore WHERE tenant_id = %(tenant)s AND band = %(band)s
"""


def _board_totals(filters: RiskBoardFilters) -> tuple[int, Decimal, float, int]:
    """(matching open deals, raw pipeline, probability-weighted pipeline, scored deals); one query.

    Without deal filters the totals read the deals' covering index and the current scores
    separately (no join); a current score lives from the scoring pass that writes it to the
    one that sees its deal closed or deleted, so for that moment a just-closed deal still
    counts in the weighted total (scored deals are capped at the matching count). With deal
    filters the matching deals are joined to their scores, as the filters need the deals'
    columns.
    """
    if not _has_deal_filters(filters):
        tenant_id = require_tenant_id()
        with connection.cursor() as cursor:
            if filters.band:
                cursor.execute(_BAND_TOTALS_SQL, {"tenant": tenant_id, "band": filters.band})
            else:
                cursor.execute(_UNFILTERED_TOTALS_SQL, {"tenant": tenant_id, "open": DealStatus.OPEN})
            count, raw, scored, weighted = cursor.fetchone()
        return count, raw or Decimal(0), weighted or 0.0, min(scored, count)
    weighted = Sum(Cast("amount", FloatField()) * _PROBABILITY, output_field=FloatField())
    aggregate = (
        risk_board_queryset(filters=filters)
        .order_by()
        .aggregate(
            n=Count("id"), raw=Sum("amount"), weighted=weighted, scored=Count("current_scores__probability")
        )
    )
    return (
        aggregate["n"] or 0,
        aggregate["raw"] or Decimal(0),
        aggregate["weighted"] or 0.0,
        aggregate["scored"] or 0,
    )


def risk_board_page(*, filters: RiskBoardFilters, today: dt.date, page_size: int = PAGE_SIZE) -> BoardPage:
    """One page of the risk board with totals over every matching deal.

    Queries, whatever the number of deals: one aggregate (count, raw and probability-weighted
    pipeline, scored deals; see ``_board_totals``), the page's ids (for the risk sort from the
    score index), the page's deals with their reps, and the page's current scores
    (scoring.selectors.deal_scores_current). Without a sort in ``filters`` the board sorts by
    risk once any matching deal has a score, else by amount.
    """
    count, raw, weighted, scored = _board_totals(filters)
    sort = filters.sort or (SORT_WHEN_SCORED if scored else SORT_WHEN_UNSCORED)
    page_count = max(1, -(-count // page_size))
    page = min(max(filters.page, 1), page_count)
    offset = (page - 1) * page_size
    # The page's ids first (narrow rows sorted), then those deals with their reps: sorting whole
    # deal rows joined to reps would carry every matching deal through the sort.
    if sort in ("risk", "-risk"):
        ids = _risk_page_ids(
            filters=filters, descending=sort == "-risk", offset=offset, limit=page_size, scored=scored
        )
    else:
        ordered = risk_board_queryset(filters=filters, sort=sort).values_list("id", flat=True)
        ids = list(ordered[offset : offset + page_size])
    found = Deal.objects.select_related("rep").defer("extra").in_bulk(ids)
    page_deals = [found[deal_id] for deal_id in ids if deal_id in found]
    scores = deal_scores_current(deal_ids=[deal.pk for deal in page_deals]) if scored else {}
    rows = [
        _with_score(
            BoardRow(
                deal=deal,
                age_days=_days_between(today, deal.created_date) or 0,
                stage_days=_days_between(today, deal.stage_entered_date),
            ),
            scores.get(deal.pk),
        )
        for deal in page_deals
    ]
    totals = BoardTotals(
        deals=count,
        raw_pipeline=raw,
        weighted_pipeline=Decimal(str(round(weighted, 2))) if scored else None,
        scored_deals=scored,
    )
    return BoardPage(
        rows=rows,
        totals=totals,
        page=page,
        page_count=page_count,
        page_size=page_size,
        filters=replace(filters, page=page, sort=sort),
    )


def risk_board_export_rows(*, filters: RiskBoardFilters, today: dt.date) -> Iterator[BoardRow]:
    """Every deal matching ``filters`` with its current score, streamed in chunks (CSV export)."""
    deals = (
        risk_board_queryset(filters=filters, sort=filters.sort or SORT_WHEN_SCORED)
        .select_related("rep")
        .annotate(
            score_probability=_PROBABILITY,
            score_band=F("current_scores__band"),
            score_version=F("current_scores__model_version__number"),
            score_serving=F("current_scores__model_version__serving"),
        )
    )
    for deal in deals.iterator(chunk_size=2000):
        row = BoardRow(
            deal=deal,
            age_days=_days_between(today, deal.created_date) or 0,
            stage_days=_days_between(today, deal.stage_entered_date),
            probability=deal.score_probability,
            band=deal.score_band,
        )
        if deal.score_version is not None:
            serving = Serving(deal.score_serving).label if deal.score_serving else "unknown model"
            row.model_label = f"v{deal.score_version} · {serving}"
        yield row


@dataclass(frozen=True)
class StageSpan:
    """Time a deal spent in one stage. ``left`` is None for the stage it is in now."""

    stage: str
    entered: dt.date | None
    left: dt.date | None
    days: int | None
    typical_days: float | None = None

    @property
    def is_current(self) -> bool:
        return self.left is None

    @property
    def over_typical(self) -> bool:
        return self.days is not None and self.typical_days is not None and self.days > self.typical_days


def deal_stage_timeline(
    *, deal: Deal, today: dt.date, typical_days: dict[str, float] | None = None
) -> list[StageSpan]:
    """The deal's stages in order with days spent in each, from its stage history.

    Without history the timeline is the current stage alone, since ``stage_entered_date`` (or
    the creation date). For a closed deal the last stage ends on the close date. ``typical_days``
    maps a stage to the typical time won deals spent in it, when known.
    """
    typical = typical_days or {}
    changes = list(deal.stage_changes.order_by("changed_on", "id"))
    end_of_life = deal.closed_date if not deal.is_open else None
    spans: list[StageSpan] = []
    if not changes:
        entered = deal.stage_entered_date or deal.created_date
        left = end_of_life
        spans.append(
            StageSpan(
                deal.stage, entered, left, _days_between(left or today, entered), typical.get(deal.stage)
            )
        )
        return spans
    first = changes[0]
    if first.from_stage:
        spans.append(
            StageSpan(
                first.from_stage,
                deal.created_date,
                first.changed_on,
                _days_between(first.changed_on, deal.created_date),
                typical.get(first.from_stage),
            )
        )
    for index, change in enumerate(changes):
        following = changes[index + 1].changed_on if index + 1 < len(changes) else end_of_life
        spans.append(
            StageSpan(
                change.to_stage,
                change.changed_on,
                following,
                _days_between(following or today, change.changed_on),
                typical.get(change.to_stage),
            )
        )
    return spans


@dataclass(frozen=True)
class MonthlyRate:
    """Closed deals of one calendar month: win rate with its Wilson 95% interval."""

    month: dt.date
    n: int
    won: int
    win_rate: float | None
    ci_low: float | None
    ci_high: float | None
    weighted_win_rate: float | None


def win_rate_by_month(*, before: dt.date, months: int = 24, rep_id: int | None = None) -> list[MonthlyRate]:
    """Win rate per calendar month for the ``months`` complete months before ``before``'s month.

    The whole tenant, or one rep's deals with ``rep_id``. One aggregate query
    (insights.selectors.closed_deal_aggregates); rates and intervals come from
    insights.segments.rate_columns, so they match every other page. Months without closed
    deals have n = 0 and no rate.
    """
    first = add_months(month_start(before), -months)
    starts = [add_months(first, offset) for offset in range(months)]
    ranges = [(start, add_months(start, 1)) for start in starts]
    dimension_set: tuple[str, ...] = ("rep",) if rep_id is not None else ()
    frame = insight_selectors.closed_deal_aggregates(
        ranges=ranges, dimension_sets=[dimension_set], with_medians=False
    )
    if rep_id is not None and not frame.empty:
        frame = frame[frame["values"].map(lambda values: values == (rep_id,))]
    by_period: dict[int, dict[str, Any]] = {}
    if not frame.empty:
        table = insight_segments.rate_columns(frame)
        by_period = {int(record["period"]): record for record in table.to_dict("records")}
    result = []
    for index, start in enumerate(starts):
        record = by_period.get(index)
        if record is None or not record["n"]:
            result.append(MonthlyRate(start, 0, 0, None, None, None, None))
            continue
        result.append(
            MonthlyRate(
                month=start,
                n=int(record["n"]),
                won=int(record["won"]),
                win_rate=clean_number(record["win_rate"]),  # type: ignore[arg-type]
                ci_low=clean_number(record["ci_low"]),  # type: ignore[arg-type]
                ci_high=clean_number(record["ci_high"]),  # type: ignore[arg-type]
                weighted_win_rate=clean_number(record["weighted_win_rate"]),  # type: ignore[arg-type]
            )
        )
    return result


def typical_stage_days(*, today: dt.date) -> dict[str, float]:
    """Median days won deals of the last year spent in each stage (insights.selectors)."""
    return insight_selectors.typical_stage_days(before=today)


@dataclass(frozen=True)
class HeatCell:
    row: str
    column: str
    metric: dict[str, Any] | None


@dataclass(frozen=True)
class Heatmap:
    """Win rate by two dimensions: ``cells[i][j]`` is row value i × column value j."""

    rows_dimension: str
    columns_dimension: str
    row_values: list[str]
    column_values: list[str]
    cells: list[list[HeatCell]]
    overall: dict[str, Any] | None
    singles: dict[str, list[dict[str, Any]]]


def _ordered_values(metrics: list[dict[str, Any]], dimension: str, size_labels: list[str]) -> list[str]:
    """A dimension's values: size bands in amount order, others largest segment first."""
    if dimension == "size_band":
        present = {m["value"] for m in metrics}
        return [label for label in size_labels if label in present]
    return [m["value"] for m in sorted(metrics, key=lambda m: (-m["n"], m["value"]))]


def segment_heatmap(
    *, rows: str, columns: str, closed_from: dt.date, closed_before: dt.date, min_sample: int
) -> Heatmap:
    """Segment metrics of deals closed in [closed_from, closed_before) by ``rows`` × ``columns``.

    One aggregate query for the overall row, both single dimensions and the pair
    (insights.selectors.segment_metric_list): rates with Wilson intervals, the minimum-sample
    flag and the Holm-corrected above/below flags, exactly as the API reports them.
    """
    edges = insight_selectors.size_band_edges(ranges=[(closed_from, closed_before)])
    metrics = insight_selectors.segment_metric_list(
        closed_from=closed_from,
        closed_before=closed_before,
        dimension_sets=[(rows,), (columns,), (rows, columns)],
        min_sample=min_sample,
        band_edges=edges,
    )
    by_key: dict[str, list[dict[str, Any]]] = {}
    for metric in metrics:
        by_key.setdefault(metric["dimension_key"], []).append(metric)
    size_labels = insight_selectors.size_band_labels(edges)
    singles = {
        dimension: [
            by_key_metric
            for value in _ordered_values(by_key.get(dimension, []), dimension, size_labels)
            for by_key_metric in by_key.get(dimension, [])
            if by_key_metric["value"] == value
        ]
        for dimension in (rows, columns)
    }
    row_values = [m["value"] for m in singles[rows]]
    column_values = [m["value"] for m in singles[columns]]
    # insights names a pair in its own dimension order, so read each value by its dimension.
    pair_metrics = by_key.get(f"{rows}+{columns}", []) + by_key.get(f"{columns}+{rows}", [])
    pairs = {}
    for metric in pair_metrics:
        named = dict(zip(metric["dimensions"], metric["values"], strict=True))
        pairs[(named[rows], named[columns])] = metric
    cells = [[HeatCell(r, c, pairs.get((r, c))) for c in column_values] for r in row_values]
    overall = next(iter(by_key.get(insight_selectors.OVERALL, [])), None)
    return Heatmap(rows, columns, row_values, column_values, cells, overall, singles)


def segment_history(*, dimension: str, value: str, months_from: dt.date) -> list[SegmentMetric]:
    """Stored monthly metrics (insights.SegmentMetric) of one single-dimension segment, by month."""
    return list(
        SegmentMetric.objects.filter(
            dimension_key=dimension,
            value_key=insight_selectors.segment_value_key([value]),
            month__gte=months_from,
        ).order_by("month")
    )
