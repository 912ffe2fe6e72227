"""Runtime prerequisites, surfaced by `manage.py check`."""

import importlib.util
import os
import shutil
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def ffmpeg_on_path(app_configs, **kwargs):
    if shutil.which("ffmpeg") and shutil.which("ffprobe"):
        return []
    return [Error("ffmpeg/ffprobe not found on PATH", hint="apt-get install ffmpeg", id="vms.E001")]


@register()
def recordings_root_writable(app_configs, **kwargs):
    root = settings.VMS_RECORDINGS_ROOT
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return [Error(f"VMS_RECORDINGS_ROOT {root} cannot be created: {exc}", id="vms.E002")]
    if not os.access(root, os.W_OK):
        return [Error(f"VMS_RECORDINGS_ROOT {root} is not writable", id="vms.E002")]
    return []


def detector_model_problem(source: str) -> str | None:
    """Why VMS_DETECTOR_MODEL cannot be loaded here, found without loading it (checks run in every process)."""
    if importlib.util.find_spec("openvino") is None:
        return "the openvino package is not installed"
    path = Path(source)
    if not path.exists():
        return f"{source} is not on this machine (the detector runs offline: nothing is downloaded)"
    if path.suffix != ".xml" and not any(path.glob("*.xml")):
        return f"{source} is not an OpenVINO IR export (a directory holding the model's .xml, or the .xml)"
    return None


@register()
def detector_model_loadable(app_configs, **kwargs):
    # A warning, not an error: without a model, recording and motion events go on.
    problem = detector_model_problem(settings.VMS_DETECTOR_MODEL)
    if problem is None:
        return []
    hint = "Set VMS_DETECTOR_MODEL to a YOLO model exported to OpenVINO (its export directory)."
    return [Warning(f"VMS_DETECTOR_MODEL: {problem}; object detection is off", hint=hint, id="vms.W003")]
