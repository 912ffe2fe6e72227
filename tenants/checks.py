"""Runtime prerequisites, surfaced by `manage.py check`."""

import importlib.util
import os
import shutil
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Warning, register

# The runtime each ultralytics model format needs, by how the model's path ends.
MODEL_RUNTIMES = {"_openvino_model": "openvino", ".onnx": "onnxruntime", ".pt": "torch", ".torchscript": "torch"}


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
    if importlib.util.find_spec("ultralytics") is None:
        return "the ultralytics package is not installed"
    if not Path(source).exists():
        return f"{source} is not on this machine (the detector runs offline: nothing is downloaded)"
    for suffix, runtime in MODEL_RUNTIMES.items():
        if source.rstrip("/").endswith(suffix) and importlib.util.find_spec(runtime) is None:
            return f"{source} needs the {runtime} package"
    return None


@register()
def detector_model_loadable(app_configs, **kwargs):
    # A warning, not an error: without a model, recording and motion events go on.
    problem = detector_model_problem(settings.VMS_DETECTOR_MODEL)
    if problem is None:
        return []
    hint = "Set VMS_DETECTOR_MODEL to a model ultralytics loads (e.g. an OpenVINO export directory)."
    return [Warning(f"VMS_DETECTOR_MODEL: {problem}; object detection is off", hint=hint, id="vms.W003")]
