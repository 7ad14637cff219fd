"""The Celery application.

Broker: Redis when ``REDIS_URL`` is set, otherwise kombu's filesystem transport under
``.local/celery`` so a laptop needs no server. Tenant-aware tasks derive from
:class:`tenants.tasks.TenantTask`, which takes the tenant id as the first argument.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesintel.settings")

app = Celery("salesintel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
