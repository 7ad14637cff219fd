import datetime as dt

from alerts import rules
from alerts.models import Alert, AlertState
from alerts.services import alert_checks_run
from alerts.tests.factories import closed_deals_create

AS_OF = dt.date(2024, 7, 1)  # compares Apr–Jun 2024 with Jan–Mar 2024


def months_of_deals(first_month: int, *, region: str, won: int, lost: int) -> None:
    for month in range(first_month, first_month + 3):
        closed_deals_create(closed=dt.date(2024, month, 15), won=won, lost=lost, region=region)


def segment_alerts() -> list[Alert]:
    # Every test deal has blank industry, product and lead source: those "(unknown)" segments
    # are the whole tenant and move with it, so only regions are looked at here.
    return list(
        Alert.objects.filter(kind="segment_deterioration", segment_dimension="region").order_by(
            "segment_value"
        )
    )


def test_a_segment_whose_win_rate_clearly_fell_raises_a_monthly_alert_with_its_interval(in_tenant_a):
    months_of_deals(1, region="Europe", won=12, lost=12)
    months_of_deals(4, region="Europe", won=5, lost=19)
    months_of_deals(1, region="APAC", won=12, lost=12)
    months_of_deals(4, region="APAC", won=12, lost=12)

    alert_checks_run(as_of=AS_OF, kinds=rules.MONTHLY_RULES)

    [alert] = segment_alerts()
    assert (alert.segment_dimension, alert.segment_value) == ("region", "Europe")
    assert alert.deal is None
    assert alert.evidence["n_before"] == 72
    assert alert.evidence["n_after"] == 72
    assert alert.evidence["rate_before"] == 0.5
    assert alert.evidence["change_ci_high"] < 0
    assert "fell 29.2 pts (50.0% → 20.8%) in Apr–Jun 2024 vs Jan–Mar 2024 (n = 72 vs 72)" in alert.summary


def test_a_drop_whose_interval_includes_zero_raises_nothing(in_tenant_a):
    months_of_deals(1, region="Europe", won=12, lost=12)
    months_of_deals(4, region="Europe", won=10, lost=14)

    alert_checks_run(as_of=AS_OF, kinds=rules.MONTHLY_RULES)

    assert segment_alerts() == []


def test_a_segment_below_the_minimum_sample_is_never_flagged(in_tenant_a):
    months_of_deals(1, region="Europe", won=5, lost=3)
    months_of_deals(4, region="Europe", won=0, lost=8)

    alert_checks_run(as_of=AS_OF, kinds=rules.MONTHLY_RULES)

    assert segment_alerts() == []


def test_the_monthly_check_stores_the_segment_metrics_it_needs_once(in_tenant_a):
    from insights.models import SegmentMetric

    months_of_deals(1, region="Europe", won=12, lost=12)
    months_of_deals(4, region="Europe", won=5, lost=19)
    alert_checks_run(as_of=AS_OF, kinds=rules.MONTHLY_RULES)
    stored = SegmentMetric.objects.count()

    alert_checks_run(as_of=AS_OF, kinds=rules.MONTHLY_RULES)

    assert SegmentMetric.objects.count() == stored
    assert len(segment_alerts()) == 1


def test_a_segment_that_recovered_next_month_resolves_its_alert(in_tenant_a):
    months_of_deals(1, region="Europe", won=12, lost=12)
    months_of_deals(4, region="Europe", won=5, lost=19)
    alert_checks_run(as_of=AS_OF, kinds=rules.MONTHLY_RULES)
    closed_deals_create(closed=dt.date(2024, 7, 15), won=40, lost=0, region="Europe")

    alert_checks_run(as_of=dt.date(2024, 8, 1), kinds=rules.MONTHLY_RULES)

    assert segment_alerts()[0].state == AlertState.RESOLVED


def test_the_daily_checks_leave_segment_alerts_alone(in_tenant_a):
    months_of_deals(1, region="Europe", won=12, lost=12)
    months_of_deals(4, region="Europe", won=5, lost=19)
    alert_checks_run(as_of=AS_OF, kinds=rules.MONTHLY_RULES)

    alert_checks_run(as_of=dt.date(2024, 7, 2))

    assert segment_alerts()[0].state == AlertState.OPEN


REGIONS = [f"Region {index:02d}" for index in range(20)]


def steady_regions(regions: list[str]) -> None:
    for region in regions:
        months_of_deals(1, region=region, won=12, lost=12)
        months_of_deals(4, region=region, won=12, lost=12)


def test_a_drop_that_chance_explains_among_many_segments_raises_nothing(in_tenant_a, monkeypatch):
    # 58.3% → 37.5% on 72 deals a side: p = 0.012 alone, but 20 regions (and the tenant-wide
    # "(unknown)" cells) are tested this month, and one such drop among them is what chance gives.
    steady_regions(REGIONS[1:])
    months_of_deals(1, region=REGIONS[0], won=14, lost=10)
    months_of_deals(4, region=REGIONS[0], won=9, lost=15)

    alert_checks_run(as_of=AS_OF, kinds=rules.MONTHLY_RULES)

    assert segment_alerts() == []
    # Without the correction it would have fired: its own interval excludes zero and p < 0.05.
    drops = segment_drops_uncorrected(monkeypatch)
    [drop] = [drop for drop in drops if (drop.dimension, drop.value) == ("region", REGIONS[0])]
    assert drop.change_ci_high < 0
    assert 0.01 < drop.p_value < 0.05
    assert drop.p_value_adjusted >= 0.05
    assert drop.segments_tested == 23  # 20 regions + industry, product and lead source "(unknown)"


def test_a_planted_drop_among_many_segments_alerts_with_raw_and_adjusted_p_values(in_tenant_a):
    steady_regions(REGIONS[1:])
    months_of_deals(1, region=REGIONS[0], won=12, lost=12)
    months_of_deals(4, region=REGIONS[0], won=4, lost=20)

    alert_checks_run(as_of=AS_OF, kinds=rules.MONTHLY_RULES)

    [alert] = segment_alerts()
    assert alert.segment_value == REGIONS[0]
    evidence = alert.evidence
    assert evidence["segments_tested"] == 23
    assert evidence["correction"] == "holm"
    assert evidence["p_value"] < 0.001
    assert evidence["p_value"] < evidence["p_value_adjusted"] < 0.05
    assert "after Holm's correction for the 23 segments tested this month" in alert.summary


def segment_drops_uncorrected(monkeypatch) -> list[rules.SegmentDrop]:
    """Every segment's drop as the rule sees it, before the corrected p-value decides."""
    from alerts import services

    monkeypatch.setattr(services, "SEGMENT_FAMILY_ERROR_RATE", 1.0)
    return services.segment_drops(as_of=AS_OF, knobs=rules.RULE_SPECS[rules.SEGMENT_DETERIORATION].defaults())
