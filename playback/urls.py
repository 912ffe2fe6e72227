"""HLS playlists, segments and snapshots under /v2/hls/, each request checked against its tenant."""

app_name = "hls"

urlpatterns: list = []
