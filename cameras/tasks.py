"""Celery tasks of the camera pipelines: one long-running task per (camera, kind), and the beat's reconcile."""

import logging

from celery import shared_task
from celery.signals import celeryd_after_setup, worker_shutting_down
from django.conf import settings

from .pipeline import supervisor
from .pipeline.nodes import Announcer, node_queue
from .pipeline.registry import KINDS

logger = logging.getLogger(__name__)


@celeryd_after_setup.connect
def _join_as_node(instance, **_kwargs) -> None:
    # A worker of a kind's queue (the Procfile's `record`, `detect`) also takes that kind's pipelines placed on its
    # node, from the node's own queue, and announces its capacity for them.
    queues = instance.app.amqp.queues
    kinds = [name for name, kind in KINDS.items() if kind.queue in queues.consume_from]
    for name in kinds:
        queues.select_add(node_queue(KINDS[name].queue, settings.VMS_NODE_NAME))
    if kinds:
        Announcer(settings.VMS_NODE_NAME, kinds, slots=instance.concurrency).start()


@worker_shutting_down.connect
def _stop_pipelines(**_kwargs) -> None:
    # A warm shutdown waits for running tasks: make every runner return (and stop its ffmpeg) first.
    supervisor.shutting_down.set()


# acks_late off: the task runs for days; a redelivery would only find the lease taken, and reconcile
# (not redelivery) is what restarts a pipeline whose worker died.
@shared_task(name="cameras.run_pipeline", acks_late=False)
def run_pipeline(kind: str, camera_pk: int) -> None:
    """Run one pipeline of one camera until it is stopped, its lease is lost or the worker shuts down."""
    supervisor.run_pipeline(kind, camera_pk)


@shared_task(name="cameras.reconcile_pipelines")
def reconcile_pipelines() -> dict[str, int]:
    """Beat: start missing pipelines, stop those of disabled or deleted cameras, restart crashed ones."""
    counts = supervisor.reconcile()
    if counts["started"] or counts["stopped"]:
        logger.info("Pipelines reconciled: %(started)d started, %(stopped)d stopped", counts)
    return counts
