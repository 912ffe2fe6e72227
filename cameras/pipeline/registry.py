"""The pipeline kinds a camera can run, each on its own Celery queue so recording and detection scale apart."""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.module_loading import import_string

from cameras.models import Camera

ShouldStop = Callable[[], bool]


@dataclass(frozen=True)
class PipelineKind:
    """`runner` is the dotted path of `run(camera, should_stop) -> None`: it returns once should_stop() is true
    (checked at least every few seconds) and raises on a fatal error. It is imported only where it runs, so the
    beat and web processes never import ffmpeg or model code."""

    queue: str
    wanted: Callable[[Camera], bool]
    runner: str

    def run(self, camera: Camera, should_stop: ShouldStop) -> None:
        import_string(self.runner)(camera, should_stop)


KINDS: dict[str, PipelineKind] = {
    "record": PipelineKind(
        queue="record",
        wanted=lambda camera: camera.enabled and camera.record,
        runner="cameras.pipeline.recorder.run_recorder",
    ),
    "detect": PipelineKind(
        queue="detect",
        wanted=lambda camera: camera.enabled and bool(camera.features),
        runner="cameras.pipeline.detector.run",
    ),
}
