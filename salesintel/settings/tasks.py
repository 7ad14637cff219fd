"""Celery: Redis when ``REDIS_URL`` is set, else a filesystem broker that needs no server.

Also the beat schedule and the alerts app's schedule knobs (local hours in each tenant's time
zone; see alerts.schedule and docs/alerts.md).
"""

from salesintel.paths import LOCAL_DIR
from salesintel.settings.env import env_bool, env_int, env_list, env_str

REDIS_URL = env_str("REDIS_URL")

if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # A task whose worker died unacknowledged is delivered again after this many seconds.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 3600)
    }
else:
    _broker_dir = LOCAL_DIR / "celery"
    for _sub in ("queue", "processed", "results", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Broadcast (remote control) tables; kombu's default is ./control in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = f"file://{_broker_dir / 'results'}"

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Tasks are idempotent; acknowledge after the work so a killed worker's task runs again.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_RESULT_EXPIRES = 24 * 3600
# Tests and scripts may run tasks inline; never on by default.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# Beat runs one tick; the tick fans out to every tenant's due jobs in the tenant's time zone
# (alerts.tasks.schedule_tick), so a new tenant needs no schedule entry and a restarted beat
# never runs a job twice (alerts.models.ScheduledRun).
ALERTS_TICK_SECONDS = env_int("ALERTS_TICK_SECONDS", 300)
ALERTS_SCHEDULE_JITTER_SECONDS = env_int("ALERTS_SCHEDULE_JITTER_SECONDS", 900)
ALERTS_DAILY_CHECK_HOUR = env_int("ALERTS_DAILY_CHECK_HOUR", 6)
ALERTS_DIGEST_HOUR = env_int("ALERTS_DIGEST_HOUR", 7)
ALERTS_DIGEST_WEEKDAY = env_int("ALERTS_DIGEST_WEEKDAY", 0)  # Monday
ALERTS_MONTHLY_DAY = env_int("ALERTS_MONTHLY_DAY", 1)
ALERTS_MONTHLY_HOUR = env_int("ALERTS_MONTHLY_HOUR", 3)
# Stall and cycle thresholds: won deals of the last two years, per product type by default.
ALERTS_THRESHOLD_LOOKBACK_DAYS = env_int("ALERTS_THRESHOLD_LOOKBACK_DAYS", 730)
ALERTS_SEGMENT_DIMENSIONS = tuple(env_list("ALERTS_SEGMENT_DIMENSIONS", ["product_type"]))
# Webhooks to private/loopback addresses (a local receiver in development); metadata, multicast and
# reserved addresses stay refused whatever this says (alerts/webhook_targets.py).
ALERT_WEBHOOK_ALLOW_PRIVATE = env_bool("ALERT_WEBHOOK_ALLOW_PRIVATE", default=False)

CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "alerts-schedule-tick": {
        "task": "alerts.schedule_tick",
        "schedule": float(ALERTS_TICK_SECONDS),
        # A tick that waited longer than one interval is superseded by the next one.
        "options": {"expires": float(ALERTS_TICK_SECONDS)},
    },
    # Queued API imports whose task never reached the broker (it was down) are sent again.
    "api-import-jobs-requeue": {
        "task": "api.import_jobs_requeue",
        "schedule": float(env_int("IMPORT_REQUEUE_EVERY_SECONDS", 60)),
        "options": {"expires": float(env_int("IMPORT_REQUEUE_EVERY_SECONDS", 60))},
    },
}

# Per-queue routing (docs/scaling.md): scoring, the alert checks and digests can each get their
# own queue and worker pool (`celery worker -Q scoring`). Every queue name defaults to Celery's
# default queue, so a worker started without -Q runs everything until the environment names
# separate queues. Tasks not listed (imports, the beat tick) stay on the default queue.
CELERY_TASK_DEFAULT_QUEUE = "celery"
TASK_QUEUES = {
    "scoring": env_str("CELERY_QUEUE_SCORING", CELERY_TASK_DEFAULT_QUEUE),
    "checks": env_str("CELERY_QUEUE_CHECKS", CELERY_TASK_DEFAULT_QUEUE),
    "digests": env_str("CELERY_QUEUE_DIGESTS", CELERY_TASK_DEFAULT_QUEUE),
}
TASK_QUEUE_OF = {
    "scoring.score_deals": "scoring",
    "scoring.train_models": "scoring",
    "alerts.models_retrain": "scoring",
    "alerts.daily_checks": "checks",
    "alerts.monthly_checks": "checks",
    "alerts.segment_metrics_refresh": "checks",
    "insights.segment_metrics_refresh": "checks",
    "alerts.deliver_alerts": "checks",
    "alerts.digests_send": "digests",
    "alerts.digest_send_one": "digests",
}
CELERY_TASK_ROUTES = {task: {"queue": TASK_QUEUES[kind]} for task, kind in TASK_QUEUE_OF.items()}
