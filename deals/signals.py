"""Signals sent after deals change, so scoring and alerts can react in batch.

Both are sent from ``transaction.on_commit``: a receiver never sees a change that was rolled
back, and it runs after the rows are visible to other connections (e.g. a Celery worker).
"""

from django.dispatch import Signal

# Deals whose stage, amount, status, closed date or expected close date changed (or that are
# new). kwargs: tenant_id (int), deal_ids (list[int], sorted), reason ("import" | "api" | "edit").
# Rescore these; one signal per import, not one per row.
deals_changed = Signal()

# One deal written through deal_create / deal_update (UI or API single edits).
# kwargs: tenant_id (int), deal_id (int), created (bool), changed_fields (list[str]),
# stage_changed (bool).
deal_saved = Signal()
