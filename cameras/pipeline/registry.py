"""The pipeline kinds a camera can run, each on its own Celery queue so recording and detection scale apart.

Each kind's runner lives with the data it produces (recording in playback, detection in events) and is found
by its dotted path in settings.VMS_PIPELINE_RUNNERS, so this app never imports the apps above it."""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from cameras.models import Camera

ShouldStop = Callable[[], bool]


@dataclass(frozen=True)
class PipelineKind:
    """The kind's runner, `run(camera, should_stop) -> None`, returns once should_stop() is true (checked at least
    every few seconds) and raises on a fatal error. It is imported only where it runs, so the beat and web
    processes never import ffmpeg or model code."""

    name: str
    queue: str
    wanted: Callable[[Camera], bool]
    # What one pipeline of the camera takes of a node's capacity for this kind (nodes.py), in the kind's unit.
    need: Callable[[Camera], float] = lambda camera: 1.0

    def run(self, camera: Camera, should_stop: ShouldStop) -> None:
        import_string(settings.VMS_PIPELINE_RUNNERS[self.name])(camera, should_stop)


KINDS: dict[str, PipelineKind] = {
    # Streams.
    "record": PipelineKind("record", queue="record", wanted=lambda camera: camera.enabled and camera.record),
    # Frames per second.
    "detect": PipelineKind(
        "detect", queue="detect", wanted=lambda camera: camera.enabled and bool(camera.features), need=lambda c: c.fps
    ),
}
