"""An hour's playlist lists the parts that start in the hour in start order, also where objects begin before the hour
or overlap (a restarted recorder), and the live window is the same parts as the hour's."""

from datetime import timedelta

import pytest

from playback import playlists

from ..factories import SegmentFactory
from .conftest import HOUR

pytestmark = pytest.mark.django_db

PLAYLIST = "/v2/hls/cam-front-01/2020-03-12/04/index.m3u8"


def listed(client_a) -> list[tuple[str, str]]:
    """(object file name, byte range) of each part of the hour's playlist."""
    lines = client_a.get(PLAYLIST).content.decode().splitlines()
    ranges = [line.removeprefix("#EXT-X-BYTERANGE:") for line in lines if line.startswith("#EXT-X-BYTERANGE:")]
    names = [line.split("?")[0].rsplit("/", 1)[1] for line in lines if line.startswith("/v2/hls/")]
    return list(zip(names, ranges, strict=True))


def one_object(camera, start, sizes, durations):
    return SegmentFactory(
        camera=camera, start=start, sizes=sizes, durations=durations, bytes=sum(sizes), duration=sum(durations)
    )


def test_an_object_begun_before_the_hour_gives_only_its_parts_in_the_hour(client_a, camera_a):
    before = one_object(camera_a, HOUR - timedelta(seconds=3), [10, 20, 30], [2.0, 2.0, 2.0])  # 03:59:57, :59, 04:00:01
    after = one_object(camera_a, HOUR + timedelta(minutes=59, seconds=58), [5, 6], [2.0, 2.0])  # 04:59:58, 05:00:00
    name = {before.pk: before.path.rsplit("/", 1)[1], after.pk: after.path.rsplit("/", 1)[1]}
    assert listed(client_a) == [(name[before.pk], "30@30"), (name[after.pk], "5@0")]


def test_overlapping_objects_interleave_their_parts_by_start(client_a, camera_a):
    first = one_object(camera_a, HOUR, [10, 20, 30], [2.0, 2.0, 2.0])  # 0 s, 2 s, 4 s
    second = one_object(camera_a, HOUR + timedelta(seconds=3), [7, 8], [2.0, 2.0])  # 3 s, 5 s
    a, b = first.path.rsplit("/", 1)[1], second.path.rsplit("/", 1)[1]
    assert listed(client_a) == [(a, "10@0"), (a, "20@10"), (b, "7@0"), (a, "30@30"), (b, "8@7")]


def test_runs_render_as_the_parts_they_hold(camera_a):
    one_object(camera_a, HOUR, [10, 20, 30], [2.0, 1.5, 2.0])
    one_object(camera_a, HOUR + timedelta(seconds=9), [7, 8], [2.0, 2.0])  # after a 3.5 s gap
    end = HOUR + playlists.HOUR
    parts = playlists.recorded_parts(camera_a, HOUR)
    by_part = playlists.render_playlist(playlists.runs_of(parts), "tenant-a", playlist_type="VOD", ended=True)
    by_object = playlists.render_playlist(
        playlists.recorded_runs(camera_a, HOUR, end), "tenant-a", playlist_type="VOD", ended=True
    )
    assert by_object == by_part
    assert by_part.count("#EXT-X-DISCONTINUITY") == 1
