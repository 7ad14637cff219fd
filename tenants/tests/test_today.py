"""Tenant.today(): the date in the tenant's own time zone, the default as_of everywhere."""

from __future__ import annotations

import datetime as dt

from tenants.models import Tenant


def test_today_is_the_date_in_the_tenants_time_zone() -> None:
    # UTC+14 and UTC−11: 25 hours apart, so never the same date.
    ahead = Tenant(slug="line-islands", timezone="Pacific/Kiritimati").today()
    behind = Tenant(slug="samoa", timezone="Pacific/Pago_Pago").today()
    utc = dt.datetime.now(dt.UTC).date()

    assert 1 <= (ahead - behind).days <= 2
    assert behind <= utc <= ahead
