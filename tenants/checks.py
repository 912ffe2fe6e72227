"""Runtime prerequisites, surfaced by `manage.py check`."""

import os
import shutil

from django.conf import settings
from django.core.checks import Error, register


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
