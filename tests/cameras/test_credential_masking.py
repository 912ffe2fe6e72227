"""Camera passwords never leave in a log line: one masking function, applied by a filter on the log handlers."""

import io
import logging

import pytest

from cameras.rtsp import MaskCredentials, mask_credentials
from vms.celery import app as celery_app


@pytest.mark.parametrize(
    "text, masked",
    [("rtsp://u:s3cret@10.0.0.5/x", "rtsp://u:***@10.0.0.5/x"),
     ("from 'rtsps://admin:p%40ss@cam:322/live': 401", "from 'rtsps://admin:***@cam:322/live': 401"),
     ("two: http://a:b@h1/ and srt://:key@[::1]:9000 ok", "two: http://a:***@h1/ and srt://:***@[::1]:9000 ok"),
     ("raw @ in it: rtsp://u:p@ss@h/x", "raw @ in it: rtsp://u:***@h/x"),
     ("no password: rtsp://u@h/x and rtsp://h:554/x@y", "no password: rtsp://u@h/x and rtsp://h:554/x@y")],
)  # fmt: skip
def test_every_url_password_in_any_text_is_masked(text, masked):
    assert mask_credentials(text) == masked


def test_the_filter_masks_message_arguments_and_traceback(caplog):
    caplog.handler.addFilter(MaskCredentials())
    logger = logging.getLogger("events.detection.vision")
    logger.warning("ffprobe failed on %s: %s", "rtsp://viewer:s3cret@10.0.0.5/x", "401 Unauthorized")
    try:
        raise RuntimeError("cannot open rtsp://viewer:s3cret@10.0.0.5/x")
    except RuntimeError:
        logger.exception("detect of cam failed")
    assert "s3cret" not in caplog.text
    assert "ffprobe failed on rtsp://viewer:***@10.0.0.5/x: 401 Unauthorized" in caplog.text
    assert "RuntimeError: cannot open rtsp://viewer:***@10.0.0.5/x" in caplog.text


def test_settings_install_the_filter_on_the_root_handler_workers_included():
    [console] = [h for h in logging.getLogger().handlers if h.name == "console"]
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        logging.getLogger("playback.recording").warning("ffmpeg: %s", "rtsp://viewer:s3cret@10.0.0.5/x refused")
    finally:
        console.setStream(previous)
    assert "ffmpeg: rtsp://viewer:***@10.0.0.5/x refused" in stream.getvalue()
    # A Celery worker replaces the root handlers (and so the filter) unless told not to.
    assert celery_app.conf.worker_hijack_root_logger is False


def test_a_record_with_a_bad_format_is_still_written_masked(caplog):
    caplog.handler.addFilter(MaskCredentials())
    logging.getLogger("cameras").warning("two values %s %s", "rtsp://u:s3cret@h/x")
    assert "s3cret" not in caplog.text and "rtsp://u:***@h/x" in caplog.text
