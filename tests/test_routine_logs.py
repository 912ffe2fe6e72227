"""`make run`'s log shows what happens, not the clock: Celery's lines for the beat's every-5-s tasks are dropped by
the console handler's filter, other tasks' lines and every warning are kept."""

import logging

import pytest
from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS

from vms.celery import QuietRoutineTasks


def record(logger: str, level: int, msg: str, args) -> logging.LogRecord:
    return logging.getLogger(logger).makeRecord(logger, level, __file__, 1, msg, args, None)


def success(task: str) -> logging.LogRecord:
    args = {"name": task, "id": "0f1e", "runtime": 0.004, "return_value": {"started": 0}}
    return record("celery.app.trace", logging.INFO, LOG_SUCCESS, args)


def received(task: str) -> logging.LogRecord:
    return record("celery.worker.strategy", logging.INFO, LOG_RECEIVED, {"name": task, "id": "0f1e"})


def sent_by_beat(entry: str, task: str) -> logging.LogRecord:
    return record("celery.beat", logging.INFO, "Scheduler: Sending due task %s (%s)", (entry, task))


@pytest.mark.parametrize(
    "line",
    [
        success("cameras.reconcile_pipelines"),
        received("cameras.reconcile_pipelines"),
        sent_by_beat("reconcile-pipelines", "cameras.reconcile_pipelines"),
        success("events.notify.sweep"),
        sent_by_beat("sweep-webhooks", "events.notify.sweep"),
    ],
)
def test_the_frequent_beat_tasks_routine_lines_are_dropped(line):
    assert not QuietRoutineTasks().filter(line)


@pytest.mark.parametrize(
    "line",
    [
        success("playback.run_export"),  # work someone asked for
        success("playback.purge_recordings"),  # every 10 minutes: not routine
        sent_by_beat("purge-recordings", "playback.purge_recordings"),
        record("celery.app.trace", logging.ERROR, "Task %s[%s] raised: %s", ("cameras.reconcile_pipelines", "x", "e")),
        record("cameras.tasks", logging.INFO, "Pipelines reconciled: %d started, %d stopped", (1, 0)),
    ],
)  # fmt: skip
def test_other_lines_are_kept(line):
    assert QuietRoutineTasks().filter(line)


def test_the_console_handler_applies_the_filter():
    handlers = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]  # not pytest's own
    assert handlers and all(any(isinstance(f, QuietRoutineTasks) for f in h.filters) for h in handlers)
