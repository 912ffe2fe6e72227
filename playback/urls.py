"""HLS playlists, segments and snapshots under /v2/hls/, each request checked against its tenant."""

from django.urls import re_path

from cameras.models import CAMERA_ID

from . import views

app_name = "hls"

# Path parts admit no dots or slashes beyond a file's one suffix, so no URL can leave the tenant's folder.
CAMERA = rf"(?P<camera>{CAMERA_ID})"
HOUR = CAMERA + r"/(?P<day>\d{4}-\d{2}-\d{2})/(?P<hour>\d{2})"

urlpatterns = [
    re_path(rf"^{CAMERA}/live\.m3u8$", views.live_playlist, name="live"),
    re_path(rf"^{CAMERA}/latest\.jpg$", views.latest_snapshot, name="latest"),
    re_path(rf"^{HOUR}/index\.m3u8$", views.hour_playlist, name="hour"),
    re_path(rf"^{HOUR}/(?P<name>[A-Za-z0-9_-]{{1,100}}\.(?:ts|jpg))$", views.hour_file, name="file"),
]
