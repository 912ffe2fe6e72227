import logging
import os
import re

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vms.settings")

app = Celery("vms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A beat task that runs at least this often is routine: its runs are the clock, not news.
ROUTINE_PERIOD_S = 60
_CELERY_ROUTINE_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")
_TASK_NAME = re.compile(r"Task (\S+?)\[|Sending due task \S+ \((\S+)\)")


class QuietRoutineTasks(logging.Filter):
    """Drops Celery's INFO lines (beat's "Sending due task", a worker's "received" and "succeeded") for the frequent
    beat tasks (reconcile, the webhook sweep), so `make run`'s log shows what happens: those tasks log at INFO
    themselves when they change something. Their warnings and errors are kept. Installed on settings.LOGGING's
    console handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or not record.name.startswith(_CELERY_ROUTINE_LOGGERS):
            return True
        found = _TASK_NAME.search(record.getMessage())
        return not (found and (found.group(1) or found.group(2)) in _routine_tasks())


def _routine_tasks() -> set[str]:
    from django.conf import settings

    schedule = settings.CELERY_BEAT_SCHEDULE.values()
    return {entry["task"] for entry in schedule if float(entry["schedule"]) <= ROUTINE_PERIOD_S}
